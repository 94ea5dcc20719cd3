#pragma once

// A simulated sidecar for pilot scale benchmarks: one real delta discovery stream (gRPC C++
// callback API, so a few gRPC threads carry every stream) that subscribes as the proxy's
// AdsClient does - clusters and listeners by wildcard, then the ClusterLoadAssignments of the
// EDS clusters and the route configurations the listeners name - and ACKs every response
// with its nonce. It records when its first full config was ACKed and, for the change the
// benchmark is measuring (a ChangeProbe), when it ACKed the first response carrying it and
// how many bytes and resources that response held.

#include <grpcpp/grpcpp.h>

#include <atomic>
#include <chrono>
#include <deque>
#include <memory>
#include <mutex>
#include <set>
#include <string>

#include "remora/service/discovery/v1/discovery.grpc.pb.h"

namespace remora::test {

using Clock = std::chrono::steady_clock;

// The change being measured: a response of `type_url` carrying (or removing) resource `name`,
// received after `since`. Shared by every proxy; set while no change is in flight.
struct ChangeProbe {
  std::mutex lock;
  std::string type_url;
  std::string name;
  Clock::time_point since;
  long generation = 0;  // bumped per change, so proxies record each change once
};

// What one proxy saw of the probed change.
struct ProbeResult {
  long generation = -1;
  Clock::time_point acked;
  size_t bytes = 0;
  size_t resources = 0;
};

class SimulatedProxy
    : public grpc::ClientBidiReactor<service::discovery::v1::DeltaDiscoveryRequest,
                                     service::discovery::v1::DeltaDiscoveryResponse> {
 public:
  SimulatedProxy(std::shared_ptr<grpc::Channel> channel, config::core::v1::Node node,
                 ChangeProbe& probe);

  // Opens the stream and sends the wildcard CDS and LDS subscriptions.
  void start();
  // Cancels the stream; finished() turns true once gRPC is done with it.
  void cancel() { context_.TryCancel(); }
  bool finished() const { return finished_; }

  // When CDS, LDS and (if any were named) EDS and RDS had all been ACKed once; unset before.
  bool hasFullConfig() const { return full_config_; }
  Clock::time_point fullConfigAt() const;
  // Whether this proxy subscribes to `name` of `type_url` (so the probed change concerns it).
  bool subscribes(const std::string& type_url, const std::string& name) const;
  ProbeResult probeResult() const;
  size_t responses() const { return responses_; }
  size_t nacks() const { return 0; }  // the simulated proxy accepts everything it gets

  void OnReadDone(bool ok) override;
  void OnWriteDone(bool ok) override;
  void OnDone(const grpc::Status& status) override;

 private:
  void handle(const service::discovery::v1::DeltaDiscoveryResponse& response);
  void send(service::discovery::v1::DeltaDiscoveryRequest request);
  // Sends a subscription change for `type_url` from `before` to `after`.
  void resubscribe(const std::string& type_url, const std::set<std::string>& before,
                   const std::set<std::string>& after);

  std::unique_ptr<service::discovery::v1::AggregatedDiscoveryService::Stub> stub_;
  grpc::ClientContext context_;
  config::core::v1::Node node_;
  ChangeProbe& probe_;
  service::discovery::v1::DeltaDiscoveryResponse incoming_;

  mutable std::mutex lock_;
  std::deque<service::discovery::v1::DeltaDiscoveryRequest> outgoing_;
  bool writing_ = false;
  bool node_sent_ = false;
  std::set<std::string> eds_names_;
  std::set<std::string> rds_names_;
  std::set<std::string> acked_types_;
  Clock::time_point full_config_at_;
  ProbeResult probe_result_;
  std::atomic<bool> full_config_{false};
  std::atomic<bool> finished_{false};
  std::atomic<size_t> responses_{0};
};

}  // namespace remora::test
