#include "source/pilot/xds_auth/node_authorizer.h"

namespace remora::pilot::xds_auth {
namespace {

std::string orDefault(const std::string& value) { return value.empty() ? "default" : value; }

std::string quoted(const std::string& text) { return "\"" + text + "\""; }

}  // namespace

const char* refusalLabel(Refusal refusal) {
  switch (refusal) {
    case Refusal::kNone:
      return "none";
    case Refusal::kNoClientCertificate:
      return "no_client_certificate";
    case Refusal::kBadCertificate:
      return "bad_certificate";
    case Refusal::kCertificateExpired:
      return "certificate_expired";
    case Refusal::kNoNode:
      return "no_node";
    case Refusal::kNamespaceMismatch:
      return "namespace_mismatch";
    case Refusal::kServiceAccountMismatch:
      return "service_account_mismatch";
    case Refusal::kNoWorkload:
      return "no_workload";
    case Refusal::kUnknownPod:
      return "unknown_pod";
    case Refusal::kPodServiceAccountMismatch:
      return "pod_service_account_mismatch";
  }
  return "unknown";
}

const std::vector<Refusal>& allRefusals() {
  static const std::vector<Refusal> all = {Refusal::kNoClientCertificate,
                                           Refusal::kBadCertificate,
                                           Refusal::kCertificateExpired,
                                           Refusal::kNoNode,
                                           Refusal::kNamespaceMismatch,
                                           Refusal::kServiceAccountMismatch,
                                           Refusal::kNoWorkload,
                                           Refusal::kUnknownPod,
                                           Refusal::kPodServiceAccountMismatch};
  return all;
}

Decision NodeAuthorizer::authorize(const PeerIdentity& identity,
                                   const config::core::v1::Node& node) const {
  const std::string cert = identity.id.toString();
  const std::string ns = orDefault(node.namespace_());
  if (ns != identity.id.ns) {
    return {Refusal::kNamespaceMismatch, "node namespace " + quoted(ns) +
                                             " is not the certificate's namespace " +
                                             quoted(identity.id.ns) + " (" + cert + ")"};
  }
  const std::string account = orDefault(node.service_account());
  if (account != identity.id.sa) {
    return {Refusal::kServiceAccountMismatch, "node service account " + quoted(account) +
                                                  " is not the certificate's " +
                                                  quoted(identity.id.sa) + " (" + cert + ")"};
  }
  if (node.workload().empty()) {
    return {
        Refusal::kNoWorkload,
        "node names no workload (pod); discovery over TLS serves only a pod that runs as " + cert};
  }
  const std::optional<std::string> pod_account = pods_(ns, node.workload());
  if (!pod_account) {
    return {Refusal::kUnknownPod,
            "pod " + quoted(node.workload()) + " does not exist in namespace " + quoted(ns)};
  }
  if (*pod_account != identity.id.sa) {
    return {Refusal::kPodServiceAccountMismatch,
            "pod " + quoted(ns + "/" + node.workload()) + " runs as service account " +
                quoted(*pod_account) + ", not as the certificate's " + quoted(identity.id.sa)};
  }
  return {};
}

}  // namespace remora::pilot::xds_auth
