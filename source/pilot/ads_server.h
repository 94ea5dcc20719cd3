#pragma once

// The aggregated discovery service (gRPC, both state-of-the-world and delta). Per proxy
// stream it learns the proxy's namespace and pod from the node in its first request, sends
// clusters, endpoints, listeners and routes in that order (make before break) whenever they
// change, and records every ACK and NACK (a NACKed version is not sent again; the next change
// is). See DeltaSession and SotwSession for what each protocol sends.
//
// Streams run on gRPC's callback API: no thread per stream. gRPC's threads receive and write;
// a small PushPool computes the pushes, after each request, on every new generation and every
// 500 ms (identity rechecks). Subscriptions are interned: streams asking for the same names
// share one copy.
//
// Pilot runs two of them: on the plaintext port (--listen, local development) any node asked
// for is served; on the TLS port (with the CA, 15012) each stream first passes the identity
// checks of xds_auth::StreamAuthenticator (the client certificate proves the node's namespace,
// service account and pod), which are repeated before every push.

#include <memory>

#include "remora/service/discovery/v1/discovery.grpc.pb.h"
#include "source/pilot/name_set.h"
#include "source/pilot/push_pool.h"
#include "source/pilot/snapshot_cache.h"
#include "source/pilot/xds_auth/stream_authenticator.h"

namespace remora::pilot {

class AdsService final
    : public service::discovery::v1::AggregatedDiscoveryService::CallbackService {
 public:
  // `authenticator` (null: serve anyone, the plaintext port) must outlive the service. The
  // gRPC server must be shut down before the service is destroyed. `workers`: the push pool's
  // threads (0: the machine's cores, at least 2).
  explicit AdsService(SnapshotCache& cache,
                      const xds_auth::StreamAuthenticator* authenticator = nullptr,
                      size_t workers = 0);

  grpc::ServerBidiReactor<service::discovery::v1::DiscoveryRequest,
                          service::discovery::v1::DiscoveryResponse>*
  StreamAggregatedResources(grpc::CallbackServerContext* context) override;
  grpc::ServerBidiReactor<service::discovery::v1::DeltaDiscoveryRequest,
                          service::discovery::v1::DeltaDiscoveryResponse>*
  DeltaAggregatedResources(grpc::CallbackServerContext* context) override;

  // The streams' subscriptions (resource names asked for), one shared copy per distinct set.
  const NameSetTable& nameSets() const { return name_sets_; }

 private:
  SnapshotCache& cache_;
  const xds_auth::StreamAuthenticator* authenticator_;
  NameSetTable name_sets_;
  // Last: stopped first, while what its streams use still exists.
  PushPool pool_;
};

}  // namespace remora::pilot
