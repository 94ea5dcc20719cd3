#pragma once

// Passive health checking of one cluster's hosts (Envoy's outlier detection, Istio's
// DestinationRule outlierDetection), shared by every worker.
//
// Workers report each request's outcome: an HTTP status, or a local-origin failure (connect
// failure, reset, timeout). A host is ejected at once after N consecutive 5xx, gateway errors
// (502/503/504) or local-origin failures; and at each interval, hosts whose success rate is
// far below the others' (mean - factor x stdev) or whose failure percentage passes a
// threshold are ejected too. An ejection lasts base_ejection_time x the host's number of
// ejections, capped at max_ejection_time; no more than max_ejection_percent of the hosts are
// out at once (but one always may be). Ejected hosts carry Host::kOutlierEjected, which load
// balancers skip. Time comes from the caller.

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <unordered_map>
#include <vector>

#include "source/interface/stats/stats.h"
#include "source/interface/upstream/cluster.h"

namespace remora::upstream {

struct OutlierConfig {
  uint32_t consecutive_5xx = 5;
  uint32_t consecutive_gateway_failure = 0;  // 0: off
  uint32_t consecutive_local_origin_failure = 5;
  std::chrono::milliseconds interval{10000};
  std::chrono::milliseconds base_ejection_time{30000};
  std::chrono::milliseconds max_ejection_time{300000};
  uint32_t max_ejection_percent = 10;
  uint32_t success_rate_minimum_hosts = 5;
  uint32_t success_rate_request_volume = 100;
  double success_rate_stdev_factor = 1.9;
  uint32_t failure_percentage_threshold = 0;  // 0: off
  uint32_t failure_percentage_minimum_hosts = 5;
  uint32_t failure_percentage_request_volume = 50;
};

class OutlierDetector {
 public:
  using TimePoint = std::chrono::steady_clock::time_point;

  OutlierDetector(const OutlierConfig& config, const std::vector<HostConstSharedPtr>& hosts,
                  const std::string& cluster, stats::Store& store);

  // Any thread. `status` 0 means a local-origin failure.
  void reportResult(const Host& host, uint32_t status, TimePoint now);
  // The interval's work (call every config().interval): hosts whose time is up come back,
  // then success-rate and failure-percentage ejections.
  void evaluate(TimePoint now);

  // Main thread, right after construction: carries over the ejection state of the hosts this
  // detector shares with `previous` (the same cluster before its host set changed).
  void inheritFrom(const OutlierDetector& previous);

  const OutlierConfig& config() const { return config_; }
  struct HostState {
    bool ejected = false;
    uint32_t ejections = 0;
  };
  HostState state(const Host& host) const;

 private:
  struct PerHost {
    std::atomic<uint32_t> consecutive_5xx{0};
    std::atomic<uint32_t> consecutive_gateway{0};
    std::atomic<uint32_t> consecutive_local{0};
    std::atomic<uint64_t> successes{0};
    std::atomic<uint64_t> failures{0};
    // Under mutex_.
    bool ejected = false;
    uint32_t ejections = 0;
    TimePoint until;
  };
  enum class Reason {
    kConsecutive5xx,
    kConsecutiveGateway,
    kConsecutiveLocal,
    kSuccessRate,
    kFailurePercentage
  };

  // Ejects unless already out or the max-ejection share is reached. Takes mutex_.
  void eject(size_t index, Reason reason, TimePoint now);
  void ejectLocked(size_t index, Reason reason, TimePoint now);

  const OutlierConfig config_;
  std::vector<HostConstSharedPtr> hosts_;
  std::vector<std::unique_ptr<PerHost>> state_;
  std::unordered_map<const Host*, size_t> index_;
  mutable std::mutex mutex_;
  size_t ejected_count_ = 0;
  stats::Gauge* ejections_active_;
  std::vector<stats::Counter*> ejections_total_;  // by Reason
};

}  // namespace remora::upstream
