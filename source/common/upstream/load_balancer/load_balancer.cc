#include "source/common/upstream/load_balancer/load_balancer.h"

#include <memory>

#include "source/common/upstream/load_balancer/hashing_lb.h"
#include "source/common/upstream/load_balancer/peak_ewma_lb.h"
#include "source/common/upstream/load_balancer/simple_lb.h"

namespace remora::upstream::lb {

LoadBalancerPtr createLoadBalancer(const LbConfig& config, std::vector<HostConstSharedPtr> hosts,
                                   RandomGenerator& random, const event::TimeSource& time) {
  switch (config.policy) {
    case LbConfig::Policy::kRoundRobin:
      return std::make_unique<RoundRobinLb>(config, std::move(hosts), random);
    case LbConfig::Policy::kLeastRequest:
      return std::make_unique<LeastRequestLb>(config, std::move(hosts), random);
    case LbConfig::Policy::kRandom:
      return std::make_unique<RandomLb>(config, std::move(hosts), random);
    case LbConfig::Policy::kRingHash:
      return std::make_unique<RingHashLb>(config, std::move(hosts), random);
    case LbConfig::Policy::kMaglev:
      return std::make_unique<MaglevLb>(config, std::move(hosts), random);
    case LbConfig::Policy::kPeakEwma:
      return std::make_unique<PeakEwmaLb>(config, std::move(hosts), random, time);
  }
  // An out-of-range policy value: round robin needs no configuration, so it is the safe default.
  return std::make_unique<RoundRobinLb>(config, std::move(hosts), random);
}

}  // namespace remora::upstream::lb
