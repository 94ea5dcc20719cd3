#pragma once

// Load balancing policies for a cluster (lb_policy) and their factory. One balancer per cluster
// per worker, used on that worker's thread only; host health and load come from the shared Host
// atomics.
//
// Common behaviour (balancer_base.h): candidates are the healthy hosts, or every host when fewer
// than panic_threshold_percent of them are healthy (panic); a host the context asks to skip is
// re-picked up to hostSelectionRetryCount() times; an empty host list gives null.

#include <chrono>
#include <cstdint>
#include <string_view>
#include <vector>

#include "source/common/upstream/load_balancer/hash.h"
#include "source/interface/common/random.h"
#include "source/interface/event/dispatcher.h"
#include "source/interface/upstream/load_balancer.h"

namespace remora::upstream::lb {

struct LbConfig {
  enum class Policy { kRoundRobin, kLeastRequest, kRandom, kRingHash, kMaglev, kPeakEwma };
  Policy policy = Policy::kRoundRobin;
  // Below this share of healthy hosts (percent), all hosts are candidates. 0: never, except
  // when no host is healthy.
  uint32_t panic_threshold_percent = 50;
  // Least request: how many random candidates are compared per pick (0 means 2).
  uint32_t least_request_choice_count = 2;
  // Ring hash: bounds on the number of ring entries.
  uint64_t ring_min_size = 1024;
  uint64_t ring_max_size = 8 * 1024 * 1024;
  // Maglev: lookup table size; should be prime (a non-prime is rounded up to the next prime).
  uint64_t maglev_table_size = 65537;
  // Peak EWMA: time constant of the latency estimate's decay, and the estimate of a host with
  // no observation yet.
  std::chrono::milliseconds ewma_decay{10000};
  std::chrono::milliseconds ewma_default_rtt{30};
};

// A balancer over `hosts` (their order matters only to round robin's sequence). `random` and
// `time` must outlive it.
LoadBalancerPtr createLoadBalancer(const LbConfig& config, std::vector<HostConstSharedPtr> hosts,
                                   RandomGenerator& random, const event::TimeSource& time);

}  // namespace remora::upstream::lb
