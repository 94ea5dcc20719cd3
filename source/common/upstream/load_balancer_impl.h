#pragma once

// The load balancers a cluster can choose (lb_policy). One object per cluster per worker.
//
// All of them pick among the candidate hosts: the healthy ones, or every host when fewer than
// the panic threshold's share are healthy (a mostly-failed cluster is better spread over all
// its hosts than piled onto the few that look well). Candidates are rebuilt only when some
// host's health changed (host_health.h). Randomness and time are injected.

#include <chrono>
#include <cstdint>
#include <memory>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "source/interface/common/random.h"
#include "source/interface/event/dispatcher.h"
#include "source/interface/upstream/load_balancer.h"

namespace remora::upstream {

struct LbConfig {
  enum class Policy { kRoundRobin, kLeastRequest, kRandom, kRingHash, kMaglev, kPeakEwma };
  Policy policy = Policy::kRoundRobin;
  uint32_t panic_threshold_percent = 50;
  uint32_t least_request_choice_count = 2;
  uint64_t ring_min_size = 1024;
  uint64_t maglev_table_size = 65537;
  std::chrono::milliseconds ewma_decay{10000};
  std::chrono::milliseconds ewma_default_rtt{30};
};

// A stable 64-bit hash (xxHash64's finalizer over FNV-1a) for hash keys and ring points.
uint64_t stableHash(std::string_view bytes);

LoadBalancerPtr createLoadBalancer(const LbConfig& config, std::vector<HostConstSharedPtr> hosts,
                                   RandomGenerator& random, const event::TimeSource& time);

// Shared by all policies: candidates, panic, and re-picking to avoid skipped hosts.
class LoadBalancerBase : public LoadBalancer {
 public:
  LoadBalancerBase(const LbConfig& config, std::vector<HostConstSharedPtr> hosts,
                   RandomGenerator& random);
  HostConstSharedPtr chooseHost(const LoadBalancerContext* context) override;

 protected:
  // One pick among candidates() (never empty when called).
  virtual HostConstSharedPtr pick(const LoadBalancerContext* context) = 0;
  // The candidate set changed (health or panic); rebuild pick structures.
  virtual void onCandidatesChanged() {}
  const std::vector<HostConstSharedPtr>& candidates() const { return candidates_; }
  const std::vector<HostConstSharedPtr>& allHosts() const { return hosts_; }
  bool inPanic() const { return panic_; }

  const LbConfig config_;
  RandomGenerator& random_;

 private:
  void refresh();

  std::vector<HostConstSharedPtr> hosts_;
  std::vector<HostConstSharedPtr> candidates_;
  uint64_t generation_ = 0;
  bool panic_ = false;
};

}  // namespace remora::upstream
