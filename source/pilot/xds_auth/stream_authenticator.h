#pragma once

// The identity checks of a discovery stream on pilot's TLS port, as the aggregated discovery
// service runs them:
//   1. at the stream's start, the client certificate proves a workload identity
//      (UNAUTHENTICATED otherwise: no certificate, no single SPIFFE ID of the trust domain);
//   2. the node in the first request is that workload's (PERMISSION_DENIED otherwise, see
//      NodeAuthorizer; a first request without a node is INVALID_ARGUMENT);
//   3. while the stream is served, before each push: the certificate has not expired and the
//      pod still exists and runs as the certificate's service account. A stream that fails
//      this is ended; the proxy reconnects and is then refused at step 2 (or, after its pod
//      came back, served).
// Every refusal is counted and logged through AuthFailures, with the client's address.
//
// Thread-safe: called from gRPC's threads and the discovery service's push pool.

#include <grpcpp/grpcpp.h>

#include <chrono>
#include <functional>
#include <string>

#include "remora/config/core/v1/base.pb.h"
#include "source/pilot/xds_auth/auth_failures.h"
#include "source/pilot/xds_auth/node_authorizer.h"
#include "source/pilot/xds_auth/peer_identity.h"

namespace remora::pilot::xds_auth {

class StreamAuthenticator {
 public:
  using Clock = std::function<std::chrono::system_clock::time_point()>;

  // `failures` must outlive this. `clock` (default the system clock) decides expiry.
  StreamAuthenticator(std::string trust_domain, NodeAuthorizer::PodLookup pods,
                      AuthFailures& failures, Clock clock = {});

  // Step 1. Sets `identity` when OK.
  grpc::Status authenticate(const grpc::ServerContextBase& context, PeerIdentity& identity) const;
  // Step 2. `node` is null when the first request carried none.
  grpc::Status admit(const grpc::ServerContextBase& context, const PeerIdentity& identity,
                     const config::core::v1::Node* node) const;
  // Step 3, for a stream admitted with `node`.
  grpc::Status recheck(const grpc::ServerContextBase& context, const PeerIdentity& identity,
                       const config::core::v1::Node& node) const;

 private:
  grpc::Status refuse(const grpc::ServerContextBase& context, grpc::StatusCode code,
                      Refusal refusal, const std::string& message) const;

  const std::string trust_domain_;
  const NodeAuthorizer authorizer_;
  AuthFailures& failures_;
  Clock clock_;
};

}  // namespace remora::pilot::xds_auth
