// TLS in the translation: the inbound mTLS transport socket, and a cluster's upstream TLS from
// its DestinationRule's `tls` (DISABLE, SIMPLE, MUTUAL, ISTIO_MUTUAL) or, without one,
// automatic mTLS towards pods in the mesh.
//
// ISTIO_MUTUAL uses the proxy's own identity: the secrets `default` (certificate and key) and
// `ROOTCA` (trust bundle), named without an sds_config, and expects the server to be one of the
// destination's workload identities (SPIFFE URIs).

#include <arpa/inet.h>

#include "remora/extensions/transport_sockets/tls/v1/tls.pb.h"
#include "source/pilot/translator.h"
#include "source/pilot/translator_internal.h"
#include "source/pilot/yaml_view.h"

namespace remora::pilot {

using namespace internal;  // NOLINT: shared names of the translator's files

namespace {

namespace tlsv1 = extensions::transport_sockets::tls::v1;
using config::cluster::v1::Cluster;

constexpr const char* kTlsSocket = "remora.transport_sockets.tls";
// Debian's bundle of public roots: SIMPLE and MUTUAL trust it without caCertificates.
constexpr const char* kSystemRoots = "/etc/ssl/certs/ca-certificates.crt";

config::core::v1::TypedExtensionConfig tlsSocket(const google::protobuf::Message& context) {
  config::core::v1::TypedExtensionConfig socket;
  socket.set_name(kTlsSocket);
  socket.mutable_typed_config()->PackFrom(context);
  return socket;
}

void useWorkloadIdentity(tlsv1::CommonTlsContext& common) {
  common.add_tls_certificate_sds_secret_configs()->set_name(kWorkloadCertificate);
}

// Istio's subjectAltNames match any kind of SAN; the proxy's matchers name one, so the kind
// follows the value's form.
void addExactSan(tlsv1::CertificateValidationContext& validation, const std::string& san) {
  auto* matcher = validation.add_match_typed_subject_alt_names();
  unsigned char ip[16];
  using Type = tlsv1::SubjectAltNameMatcher;
  if (san.find("://") != std::string::npos) {
    matcher->set_san_type(Type::URI);
  } else if (inet_pton(AF_INET, san.c_str(), ip) == 1 ||
             inet_pton(AF_INET6, san.c_str(), ip) == 1) {
    matcher->set_san_type(Type::IP_ADDRESS);
  } else if (san.find('@') != std::string::npos) {
    matcher->set_san_type(Type::EMAIL);
  } else {
    matcher->set_san_type(Type::DNS);
  }
  matcher->set_exact(san);
}

// ALPN a client offers: what its requests will be. A cluster whose protocol follows the
// downstream's carries opaque connections too, so it offers none, like a TCP cluster.
std::vector<std::string> clientAlpn(const Translator::Port& port) {
  if (port.http2) return {"h2"};
  if (port.http) return {"http/1.1"};
  return {};
}

bool isTrue(const YamlView& node) { return node && node.as<bool>(); }

}  // namespace

const std::vector<std::string>& internal::httpAlpn() {
  static const std::vector<std::string> kAlpn = {"h2", "http/1.1"};
  return kAlpn;
}

config::core::v1::TypedExtensionConfig internal::inboundMtlsSocket(
    const std::vector<std::string>& alpn) {
  tlsv1::DownstreamTlsContext context;
  auto* common = context.mutable_common_tls_context();
  useWorkloadIdentity(*common);
  // Any workload of the trust bundle's mesh may connect; who may do what is authorization's
  // business, not the handshake's.
  common->mutable_validation_context_sds_secret_config()->set_name(kTrustBundle);
  for (const auto& protocol : alpn) common->add_alpn_protocols(protocol);
  context.mutable_require_client_certificate()->set_value(true);
  return tlsSocket(context);
}

void internal::checkClientTls(Checker& check, const YamlView& tls, const std::string& at) {
  if (!tls) return;
  if (!tls.isMap()) {
    check.fail(at, "must be a mapping");
    return;
  }
  std::string mode = tls["mode"] ? tls["mode"].str() : "DISABLE";
  if (mode != "DISABLE" && mode != "SIMPLE" && mode != "MUTUAL" && mode != "ISTIO_MUTUAL") {
    check.fail(at + ".mode", "\"" + mode + "\" is not DISABLE, SIMPLE, MUTUAL or ISTIO_MUTUAL");
  }
  if (tls["credentialName"]) {
    check.fail(at + ".credentialName",
               "credentialName is not supported; use clientCertificate/privateKey/caCertificates "
               "files");
  }
  // A revocation list that is silently not checked would be worse than a refusal.
  if (tls["caCrl"]) check.fail(at + ".caCrl", "is not supported");
  for (const char* field : {"sni", "caCertificates", "clientCertificate", "privateKey"}) {
    if (tls[field] && (!tls[field].isScalar() || tls[field].str().empty())) {
      check.fail(at + "." + field, "must be a non-empty string");
    }
  }
  if (mode == "MUTUAL") {
    for (const char* field : {"clientCertificate", "privateKey"}) {
      if (!tls[field]) check.fail(at + "." + field, "required with mode MUTUAL");
    }
  }
  if (mode == "SIMPLE") {
    for (const char* field : {"clientCertificate", "privateKey"}) {
      if (tls[field]) check.fail(at + "." + field, "only with mode MUTUAL");
    }
  }
  if (mode == "ISTIO_MUTUAL") {
    for (const char* field : {"clientCertificate", "privateKey", "caCertificates"}) {
      if (tls[field]) {
        check.fail(at + "." + field,
                   "not with mode ISTIO_MUTUAL (the mesh's certificate and trust bundle are used)");
      }
    }
  }
  const YamlView& sans = tls["subjectAltNames"];
  if (sans && !sans.isSequence()) check.fail(at + ".subjectAltNames", "must be a list");
  for (size_t i = 0; i < sans.size(); ++i) {
    if (sans[i].str().empty()) {
      check.fail(at + ".subjectAltNames[" + std::to_string(i) + "]", "must be a non-empty string");
    }
  }
  bool skip_verify = false;
  if (tls["insecureSkipVerify"]) {
    try {
      skip_verify = tls["insecureSkipVerify"].as<bool>();
    } catch (const YAML::Exception&) {
      check.fail(at + ".insecureSkipVerify", "must be true or false");
    }
  }
  if (skip_verify && mode == "ISTIO_MUTUAL") {
    check.fail(at + ".insecureSkipVerify",
               "not with mode ISTIO_MUTUAL (peers are always verified)");
  }
}

std::string Translator::spiffeId(const std::string& ns, const std::string& service_account) const {
  return "spiffe://" + options_.trust_domain + "/ns/" + ns + "/sa/" + service_account;
}

std::string Translator::podKeyOf(const std::string& ns, const Endpoint& endpoint) const {
  if (!endpoint.pod.empty()) return ns + "/" + endpoint.pod;
  auto it = pod_index_->by_ip.find(endpoint.ip);
  return it != pod_index_->by_ip.end() ? it->second : "";
}

std::set<std::string> Translator::identitiesOf(const std::string& ns,
                                               const std::vector<Endpoint>& endpoints) const {
  std::set<std::string> ids;
  for (const auto& endpoint : endpoints) {
    auto pod = pod_index_->pods.find(podKeyOf(ns, endpoint));
    if (pod == pod_index_->pods.end() || !pod->second->injected) continue;
    ids.insert(spiffeId(pod->first.substr(0, pod->first.find('/')), pod->second->service_account));
  }
  return ids;
}

void Translator::applyClusterTls(const YamlView& tls, bool automatic, const Port& port,
                                 const std::string& subset, const std::string& host,
                                 const std::string& default_sni,
                                 const std::vector<EndpointTarget>& targets,
                                 const std::set<std::string>& sans, Cluster& cluster) const {
  std::string mode;
  if (tls) {
    // As Istio: a `tls` without a mode is DISABLE.
    mode = tls["mode"] ? tls["mode"].str() : "DISABLE";
  } else if (automatic && !targets.empty()) {
    // Automatic mTLS: only when every endpoint will take it. A pod outside the mesh has no
    // sidecar to terminate it, and one whose policy is DISABLE refuses it (a STRICT pod among
    // plaintext ones is not helped either way: the cluster stays plaintext, see docs/pilot.md).
    mode = "ISTIO_MUTUAL";
    for (const auto& target : targets) {
      size_t slash = target.pod_key.find('/');
      std::string ns = target.pod_key.substr(0, slash);
      std::string pod = slash == std::string::npos ? "" : target.pod_key.substr(slash + 1);
      if (pod.empty() || !meshPod(ns, pod) ||
          peerAuthenticationMode(ns, pod, target.port) == MtlsMode::kDisable) {
        mode = "DISABLE";
        break;
      }
    }
  }
  if (mode.empty() || mode == "DISABLE") return;

  tlsv1::UpstreamTlsContext context;
  auto* common = context.mutable_common_tls_context();
  for (const auto& protocol : clientAlpn(port)) common->add_alpn_protocols(protocol);
  const YamlView& wanted_sans = tls["subjectAltNames"];
  if (mode == "ISTIO_MUTUAL") {
    useWorkloadIdentity(*common);
    auto* combined = common->mutable_combined_validation_context();
    combined->mutable_validation_context_sds_secret_config()->set_name(kTrustBundle);
    auto* validation = combined->mutable_default_validation_context();
    if (wanted_sans.size() > 0) {
      for (const auto& san : wanted_sans) addExactSan(*validation, san.str());
    } else if (!sans.empty()) {
      for (const auto& san : sans) addExactSan(*validation, san);
    } else {
      // No pod known behind it: any workload of the mesh.
      auto* matcher = validation->add_match_typed_subject_alt_names();
      matcher->set_san_type(tlsv1::SubjectAltNameMatcher::URI);
      matcher->set_prefix("spiffe://" + options_.trust_domain + "/");
    }
    context.set_sni(tls["sni"]
                        ? tls["sni"].str()
                        : "outbound_." + std::to_string(port.number) + "_." + subset + "_." + host);
  } else {
    if (!isTrue(tls["insecureSkipVerify"])) {
      auto* validation = common->mutable_validation_context();
      validation->mutable_trusted_ca()->set_filename(
          tls["caCertificates"] ? tls["caCertificates"].str() : kSystemRoots);
      for (const auto& san : wanted_sans) addExactSan(*validation, san.str());
    }
    if (mode == "MUTUAL") {
      auto* certificate = common->add_tls_certificates();
      certificate->mutable_certificate_chain()->set_filename(tls["clientCertificate"].str());
      certificate->mutable_private_key()->set_filename(tls["privateKey"].str());
    }
    context.set_sni(tls["sni"] ? tls["sni"].str() : default_sni);
  }
  *cluster.mutable_transport_socket() = tlsSocket(context);
}

}  // namespace remora::pilot
