#pragma once

// Active health checking of one cluster's hosts: on the main thread, once per host (not once
// per worker), every interval plus a random jitter. An HTTP check sends GET <path> on a new
// connection and passes on an expected status within the timeout; a TCP check passes when the
// connect succeeds. A host turns unhealthy after unhealthy_threshold failures in a row (at
// once if it never passed), and healthy again after healthy_threshold passes in a row. The
// result is the host's kFailedActiveHealthCheck flag, which every worker's balancer sees.

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "source/interface/common/random.h"
#include "source/interface/event/dispatcher.h"
#include "source/interface/stats/stats.h"
#include "source/interface/upstream/cluster.h"

namespace remora::upstream {

struct HealthCheckConfig {
  enum class Kind { kHttp, kTcp };
  Kind kind = Kind::kHttp;
  std::chrono::milliseconds timeout{1000};
  std::chrono::milliseconds interval{10000};
  std::chrono::milliseconds interval_jitter{0};
  uint32_t unhealthy_threshold = 3;
  uint32_t healthy_threshold = 2;
  std::string path = "/";
  std::string host;  // Host header; default the cluster name
  // Half-open ranges [start, end) of passing statuses; default 200 only.
  std::vector<std::pair<uint32_t, uint32_t>> expected_statuses{{200, 201}};
};

class HealthChecker {
 public:
  HealthChecker(const HealthCheckConfig& config, std::string cluster,
                const std::vector<HostConstSharedPtr>& hosts, event::Dispatcher& dispatcher,
                RandomGenerator& random, stats::Store& store);
  ~HealthChecker();
  // Starts the first round of checks at once.
  void start();

 private:
  class HostChecker;
  HealthCheckConfig config_;
  std::string cluster_;
  event::Dispatcher& dispatcher_;
  RandomGenerator& random_;
  stats::Counter* successes_;
  stats::Counter* failures_;
  std::vector<std::unique_ptr<HostChecker>> checkers_;
};

}  // namespace remora::upstream
