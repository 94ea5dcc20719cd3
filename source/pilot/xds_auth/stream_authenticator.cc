#include "source/pilot/xds_auth/stream_authenticator.h"

namespace remora::pilot::xds_auth {

StreamAuthenticator::StreamAuthenticator(std::string trust_domain, NodeAuthorizer::PodLookup pods,
                                         AuthFailures& failures, Clock clock)
    : trust_domain_(std::move(trust_domain)),
      authorizer_(std::move(pods)),
      failures_(failures),
      clock_(std::move(clock)) {
  if (!clock_) clock_ = [] { return std::chrono::system_clock::now(); };
}

grpc::Status StreamAuthenticator::refuse(const grpc::ServerContextBase& context,
                                         grpc::StatusCode code, Refusal refusal,
                                         const std::string& message) const {
  failures_.refused(refusal, context.peer(), message);
  return grpc::Status(code, message);
}

grpc::Status StreamAuthenticator::authenticate(const grpc::ServerContextBase& context,
                                               PeerIdentity& identity) const {
  const auto auth = context.auth_context();
  if (auth == nullptr) {
    return refuse(context, grpc::StatusCode::UNAUTHENTICATED, Refusal::kNoClientCertificate,
                  "no client certificate: discovery on this port needs the workload certificate");
  }
  auto found = identityOfPeer(*auth, trust_domain_);
  if (!found.ok()) {
    const bool missing = found.error().rfind("no client certificate", 0) == 0;
    return refuse(context, grpc::StatusCode::UNAUTHENTICATED,
                  missing ? Refusal::kNoClientCertificate : Refusal::kBadCertificate,
                  found.error());
  }
  identity = std::move(*found);
  return grpc::Status::OK;
}

grpc::Status StreamAuthenticator::admit(const grpc::ServerContextBase& context,
                                        const PeerIdentity& identity,
                                        const config::core::v1::Node* node) const {
  if (node == nullptr) {
    return refuse(
        context, grpc::StatusCode::INVALID_ARGUMENT, Refusal::kNoNode,
        "the first discovery request must name the node (" + identity.id.toString() + ")");
  }
  const Decision decision = authorizer_.authorize(identity, *node);
  if (!decision.allowed()) {
    return refuse(context, grpc::StatusCode::PERMISSION_DENIED, decision.refusal, decision.message);
  }
  failures_.admitted();
  return grpc::Status::OK;
}

grpc::Status StreamAuthenticator::recheck(const grpc::ServerContextBase& context,
                                          const PeerIdentity& identity,
                                          const config::core::v1::Node& node) const {
  if (clock_() >= identity.not_after) {
    return refuse(context, grpc::StatusCode::UNAUTHENTICATED, Refusal::kCertificateExpired,
                  "the client certificate of " + identity.id.toString() +
                      " expired during the stream; reconnect with the renewed one");
  }
  const Decision decision = authorizer_.authorize(identity, node);
  if (!decision.allowed()) {
    return refuse(context, grpc::StatusCode::PERMISSION_DENIED, decision.refusal,
                  "stopped serving: " + decision.message);
  }
  return grpc::Status::OK;
}

}  // namespace remora::pilot::xds_auth
