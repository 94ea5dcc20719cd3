#pragma once

// The aggregated discovery service (gRPC, both state-of-the-world and delta). One handler per
// proxy stream: it learns the proxy's namespace from the node in its first request, sends
// clusters, endpoints, listeners and routes in that order (make before break) whenever they
// change, and records every ACK and NACK (a NACKed version is not sent again; the next change
// is).

#include <memory>

#include "remora/service/discovery/v1/discovery.grpc.pb.h"
#include "source/pilot/snapshot_cache.h"

namespace remora::pilot {

class AdsService final : public service::discovery::v1::AggregatedDiscoveryService::Service {
 public:
  explicit AdsService(SnapshotCache& cache) : cache_(cache) {}

  grpc::Status StreamAggregatedResources(
      grpc::ServerContext* context,
      grpc::ServerReaderWriter<service::discovery::v1::DiscoveryResponse,
                               service::discovery::v1::DiscoveryRequest>* stream) override;
  grpc::Status DeltaAggregatedResources(
      grpc::ServerContext* context,
      grpc::ServerReaderWriter<service::discovery::v1::DeltaDiscoveryResponse,
                               service::discovery::v1::DeltaDiscoveryRequest>* stream) override;

 private:
  // Records a stream's first node: its id and namespace (default "default"), shown in
  // /debug/syncz. Returns the cache key of the stream's configuration: "namespace/pod", the
  // pod being the node's `workload` (may be empty).
  std::string registerNode(uint64_t proxy, const config::core::v1::Node& node,
                           const char* protocol);

  SnapshotCache& cache_;
};

}  // namespace remora::pilot
