#pragma once

// The aggregated discovery service (gRPC, both state-of-the-world and delta). One handler per
// proxy stream: it learns the proxy's namespace from the node in its first request, sends
// clusters, endpoints, listeners and routes in that order (make before break) whenever they
// change, and records every ACK and NACK (a NACKed version is not sent again; the next change
// is).
//
// Pilot runs two of them: on the plaintext port (--listen, local development) any node asked
// for is served; on the TLS port (with the CA, 15012) each stream first passes the identity
// checks of xds_auth::StreamAuthenticator (the client certificate proves the node's namespace,
// service account and pod), which are repeated before every push.

#include <memory>
#include <optional>

#include "remora/service/discovery/v1/discovery.grpc.pb.h"
#include "source/pilot/name_set.h"
#include "source/pilot/snapshot_cache.h"
#include "source/pilot/xds_auth/stream_authenticator.h"

namespace remora::pilot {

class AdsService final : public service::discovery::v1::AggregatedDiscoveryService::Service {
 public:
  // `authenticator` (null: serve anyone, the plaintext port) must outlive the service.
  explicit AdsService(SnapshotCache& cache,
                      const xds_auth::StreamAuthenticator* authenticator = nullptr)
      : cache_(cache), authenticator_(authenticator) {}

  grpc::Status StreamAggregatedResources(
      grpc::ServerContext* context,
      grpc::ServerReaderWriter<service::discovery::v1::DiscoveryResponse,
                               service::discovery::v1::DiscoveryRequest>* stream) override;
  grpc::Status DeltaAggregatedResources(
      grpc::ServerContext* context,
      grpc::ServerReaderWriter<service::discovery::v1::DeltaDiscoveryResponse,
                               service::discovery::v1::DeltaDiscoveryRequest>* stream) override;

  // The streams' subscriptions (resource names asked for), one shared copy per distinct set.
  const NameSetTable& nameSets() const { return name_sets_; }

 private:
  // Records a stream's first node: its id and namespace (default "default"), shown in
  // /debug/syncz. Returns the cache key of the stream's configuration: "namespace/pod", the
  // pod being the node's `workload` (may be empty).
  std::string registerNode(uint64_t proxy, const config::core::v1::Node& node, const char* protocol,
                           const std::optional<xds_auth::PeerIdentity>& identity);
  // Before a stream is served: with an authenticator, the peer's identity (set in `identity`),
  // then reads the first request (`first`; false in `have_first` when the client left
  // before sending one) and checks its node. A non-OK status refuses the stream.
  template <class Request, class Stream>
  grpc::Status openStream(grpc::ServerContext* context, Stream* stream, Request& first,
                          bool& have_first, std::optional<xds_auth::PeerIdentity>& identity);
  // While serving an authenticated stream: whether it may go on (see StreamAuthenticator).
  grpc::Status recheck(grpc::ServerContext* context,
                       const std::optional<xds_auth::PeerIdentity>& identity,
                       const config::core::v1::Node& node) const;

  SnapshotCache& cache_;
  const xds_auth::StreamAuthenticator* authenticator_;
  NameSetTable name_sets_;
};

}  // namespace remora::pilot
