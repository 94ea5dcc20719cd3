#include "source/pilot/ads_server.h"

#include <algorithm>
#include <thread>

#include "source/pilot/delta_session.h"
#include "source/pilot/discovery_reactor.h"
#include "source/pilot/sotw_session.h"

namespace remora::pilot {

using service::discovery::v1::DeltaDiscoveryRequest;
using service::discovery::v1::DeltaDiscoveryResponse;
using service::discovery::v1::DiscoveryRequest;
using service::discovery::v1::DiscoveryResponse;

AdsService::AdsService(SnapshotCache& cache, const xds_auth::StreamAuthenticator* authenticator,
                       size_t workers)
    : cache_(cache),
      authenticator_(authenticator),
      pool_(cache, workers != 0 ? workers : std::max(2u, std::thread::hardware_concurrency())) {}

grpc::ServerBidiReactor<DiscoveryRequest, DiscoveryResponse>* AdsService::StreamAggregatedResources(
    grpc::CallbackServerContext* context) {
  return new DiscoveryReactor<SotwSession>(context, pool_,
                                           {cache_, name_sets_, authenticator_, std::nullopt});
}

grpc::ServerBidiReactor<DeltaDiscoveryRequest, DeltaDiscoveryResponse>*
AdsService::DeltaAggregatedResources(grpc::CallbackServerContext* context) {
  return new DiscoveryReactor<DeltaSession>(context, pool_,
                                            {cache_, name_sets_, authenticator_, std::nullopt});
}

}  // namespace remora::pilot
