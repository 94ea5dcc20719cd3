#pragma once

// Which node a proven workload identity may fetch configuration for. A discovery request
// names its node (namespace, service account, pod); pilot serves it only if the client's
// certificate proves that very workload:
//   - the node's namespace (empty: "default", as pilot reads it) is the certificate's,
//   - the node's service account (empty: "default", as the identity agent reads it) is the
//     certificate's,
//   - the node names a pod (`workload`), that Pod exists in that namespace, and it runs as
//     that service account (spec.serviceAccountName, "default" when unset).
// Without the last check any workload of a service account could ask for the inbound
// listeners and policies of another pod sharing it only by name; with it, a certificate is
// worth exactly the pods that run as its account.
//
// Stateless and thread-safe (the pod lookup must be).

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "remora/config/core/v1/base.pb.h"
#include "source/pilot/xds_auth/peer_identity.h"

namespace remora::pilot::xds_auth {

// Why a stream was refused: the `reason` label of pilot_xds_auth_failures_total.
enum class Refusal {
  kNone,
  kNoClientCertificate,
  kBadCertificate,  // no (single) SPIFFE ID of the trust domain
  kCertificateExpired,
  kNoNode,  // the first request names no node
  kNamespaceMismatch,
  kServiceAccountMismatch,
  kNoWorkload,  // the node names no pod
  kUnknownPod,
  kPodServiceAccountMismatch,
};
// The label value, e.g. "namespace_mismatch".
const char* refusalLabel(Refusal refusal);
// Every refusal but kNone, for exporting each counter from the start.
const std::vector<Refusal>& allRefusals();

struct Decision {
  Refusal refusal = Refusal::kNone;
  std::string message;  // what did not match, for the client and the log
  bool allowed() const { return refusal == Refusal::kNone; }
};

class NodeAuthorizer {
 public:
  // The service account of pod (ns, name) in the current configuration, nullopt when there
  // is no such pod. Called from gRPC threads.
  using PodLookup =
      std::function<std::optional<std::string>(const std::string& ns, const std::string& pod)>;

  explicit NodeAuthorizer(PodLookup pods) : pods_(std::move(pods)) {}

  // Whether `identity` may be served the configuration of `node`.
  Decision authorize(const PeerIdentity& identity, const config::core::v1::Node& node) const;

 private:
  PodLookup pods_;
};

}  // namespace remora::pilot::xds_auth
