#include "source/common/upstream/load_balancer_impl.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <string>

#include "source/common/upstream/host_health.h"

namespace remora::upstream {

uint64_t stableHash(std::string_view bytes) {
  uint64_t h = 1469598103934665603ULL;  // FNV-1a over the bytes...
  for (unsigned char c : bytes) {
    h ^= c;
    h *= 1099511628211ULL;
  }
  // ...then xxHash64's avalanche, so nearby inputs land far apart on a ring.
  h ^= h >> 33;
  h *= 0xC2B2AE3D27D4EB4FULL;
  h ^= h >> 29;
  h *= 0x165667B19E3779F9ULL;
  h ^= h >> 32;
  return h;
}

LoadBalancerBase::LoadBalancerBase(const LbConfig& config, std::vector<HostConstSharedPtr> hosts,
                                   RandomGenerator& random)
    : config_(config), random_(random), hosts_(std::move(hosts)) {}

void LoadBalancerBase::refresh() {
  uint64_t generation = healthGeneration();
  if (generation == generation_ && !candidates_.empty()) return;
  generation_ = generation;
  candidates_.clear();
  for (const auto& host : hosts_) {
    if (host->healthy()) candidates_.push_back(host);
  }
  panic_ = candidates_.size() * 100 < hosts_.size() * config_.panic_threshold_percent ||
           candidates_.empty();
  if (panic_) candidates_ = hosts_;
  onCandidatesChanged();
}

HostConstSharedPtr LoadBalancerBase::chooseHost(const LoadBalancerContext* context) {
  if (hosts_.empty()) return nullptr;
  refresh();
  HostConstSharedPtr host = pick(context);
  if (context == nullptr || context->hostSelectionRetryCount() == 0) return host;
  for (uint32_t i = 0; i < context->hostSelectionRetryCount() && context->shouldSkipHost(*host);
       ++i) {
    host = pick(context);
  }
  if (!context->shouldSkipHost(*host)) return host;
  // The policy kept landing on hosts to avoid (likely when most were tried): take any other
  // candidate, from a random start so the load still spreads.
  const auto& hosts = candidates();
  size_t start = random_.random() % hosts.size();
  for (size_t i = 0; i < hosts.size(); ++i) {
    const auto& other = hosts[(start + i) % hosts.size()];
    if (!context->shouldSkipHost(*other)) return other;
  }
  return host;
}

namespace {

// Smooth weighted round robin (nginx): over sum(weights) picks each host comes up `weight`
// times, interleaved rather than in bursts.
class RoundRobinLb : public LoadBalancerBase {
 public:
  using LoadBalancerBase::LoadBalancerBase;

 private:
  void onCandidatesChanged() override {
    current_.assign(candidates().size(), 0);
    total_ = 0;
    equal_ = true;
    for (const auto& host : candidates()) {
      total_ += host->weight;
      equal_ &= host->weight == candidates().front()->weight;
    }
    next_ %= candidates().size();
  }
  HostConstSharedPtr pick(const LoadBalancerContext*) override {
    const auto& hosts = candidates();
    if (equal_) {
      const auto& host = hosts[next_];
      next_ = (next_ + 1) % hosts.size();
      return host;
    }
    size_t best = 0;
    for (size_t i = 0; i < hosts.size(); ++i) {
      current_[i] += hosts[i]->weight;
      if (current_[i] > current_[best]) best = i;
    }
    current_[best] -= total_;
    return hosts[best];
  }

  std::vector<int64_t> current_;
  int64_t total_ = 0;
  bool equal_ = true;
  size_t next_ = 0;
};

// Weighted random: a draw over the cumulative weights.
class RandomLb : public LoadBalancerBase {
 public:
  using LoadBalancerBase::LoadBalancerBase;

 private:
  void onCandidatesChanged() override {
    cumulative_.clear();
    uint64_t sum = 0;
    for (const auto& host : candidates()) cumulative_.push_back(sum += host->weight);
  }
  HostConstSharedPtr pick(const LoadBalancerContext*) override {
    uint64_t draw = random_.random() % cumulative_.back();
    size_t index =
        std::upper_bound(cumulative_.begin(), cumulative_.end(), draw) - cumulative_.begin();
    return candidates()[index];
  }

  std::vector<uint64_t> cumulative_;
};

// Power of `choice_count` choices: of that many random candidates, the one with the fewest
// requests in flight per unit of weight (compared by cross-multiplying, no division).
class LeastRequestLb : public LoadBalancerBase {
 public:
  using LoadBalancerBase::LoadBalancerBase;

 private:
  HostConstSharedPtr pick(const LoadBalancerContext*) override {
    const auto& hosts = candidates();
    const HostConstSharedPtr* best = &hosts[random_.random() % hosts.size()];
    for (uint32_t i = 1; i < std::max<uint32_t>(config_.least_request_choice_count, 2); ++i) {
      const auto& other = hosts[random_.random() % hosts.size()];
      uint64_t other_active = other->active_requests.load(std::memory_order_relaxed);
      uint64_t best_active = (*best)->active_requests.load(std::memory_order_relaxed);
      if (other_active * (*best)->weight < best_active * other->weight) best = &other;
    }
    return *best;
  }
};

// Ketama-style consistent hashing: each host owns points on a ring in proportion to its
// weight; a key goes to the first point at or after its hash. Built over every host (not just
// healthy ones) so health changes move only the keys of the hosts that changed: a key whose
// host is not a candidate walks on to the next one that is.
class RingHashLb : public LoadBalancerBase {
 public:
  RingHashLb(const LbConfig& config, std::vector<HostConstSharedPtr> hosts, RandomGenerator& random)
      : LoadBalancerBase(config, std::move(hosts), random) {
    // Points per unit of weight do not depend on how many hosts there are (ketama's 160,
    // more only for small clusters), so adding or removing a host leaves the others' points
    // where they were.
    uint64_t total_weight = 0;
    for (const auto& host : allHosts()) total_weight += host->weight;
    if (total_weight == 0) return;
    uint64_t per_weight =
        std::max<uint64_t>(160, (config_.ring_min_size + total_weight - 1) / total_weight);
    for (const auto& host : allHosts()) {
      uint64_t points = per_weight * host->weight;
      std::string base = host->address.asString() + "_";
      for (uint64_t i = 0; i < points; ++i) {
        ring_.push_back({stableHash(base + std::to_string(i)), host.get()});
      }
    }
    std::sort(ring_.begin(), ring_.end(),
              [](const Point& a, const Point& b) { return a.hash < b.hash; });
  }

 private:
  struct Point {
    uint64_t hash;
    const Host* host;
  };
  void onCandidatesChanged() override {
    by_host_.clear();
    for (const auto& host : candidates()) by_host_[host.get()] = host;
  }
  HostConstSharedPtr pick(const LoadBalancerContext* context) override {
    auto key = context ? context->hashKey() : std::nullopt;
    uint64_t hash = key ? *key : random_.random();
    auto it = std::lower_bound(ring_.begin(), ring_.end(), hash,
                               [](const Point& p, uint64_t h) { return p.hash < h; });
    for (size_t walked = 0; walked < ring_.size(); ++walked, ++it) {
      if (it == ring_.end()) it = ring_.begin();
      auto found = by_host_.find(it->host);
      if (found != by_host_.end()) return found->second;
    }
    return candidates().front();
  }

  std::vector<Point> ring_;
  std::unordered_map<const Host*, HostConstSharedPtr> by_host_;
};

// Maglev (Eisenbud et al., NSDI 2016): a lookup table filled from each host's permutation of
// the slots, weighted by letting heavier hosts take turns more often. Lookups are O(1); a
// change of the candidate set moves few keys.
class MaglevLb : public LoadBalancerBase {
 public:
  using LoadBalancerBase::LoadBalancerBase;

 private:
  void onCandidatesChanged() override {
    const auto& hosts = candidates();
    const uint64_t size = config_.maglev_table_size;
    table_.assign(size, nullptr);
    std::vector<uint64_t> offset(hosts.size()), skip(hosts.size()), next(hosts.size(), 0);
    uint32_t max_weight = 0;
    for (size_t i = 0; i < hosts.size(); ++i) {
      std::string name = hosts[i]->address.asString();
      offset[i] = stableHash(name) % size;
      skip[i] = stableHash(name + "#skip") % (size - 1) + 1;
      max_weight = std::max(max_weight, hosts[i]->weight);
    }
    std::vector<double> credit(hosts.size(), 0);
    uint64_t filled = 0;
    while (filled < size) {
      for (size_t i = 0; i < hosts.size() && filled < size; ++i) {
        // A host with half the largest weight takes a slot every other round.
        credit[i] += static_cast<double>(hosts[i]->weight) / max_weight;
        if (credit[i] < 1) continue;
        credit[i] -= 1;
        uint64_t slot;
        do {
          slot = (offset[i] + next[i] * skip[i]) % size;
          ++next[i];
        } while (table_[slot] != nullptr);
        table_[slot] = hosts[i];
        ++filled;
      }
    }
  }
  HostConstSharedPtr pick(const LoadBalancerContext* context) override {
    auto key = context ? context->hashKey() : std::nullopt;
    uint64_t hash = key ? *key : random_.random();
    return table_[hash % table_.size()];
  }

  std::vector<HostConstSharedPtr> table_;
};

// Peak-EWMA (linkerd2-proxy): each host's latency estimate jumps to any observation above it
// and otherwise decays toward observations with time constant `ewma_decay`; the cost of a host
// is that estimate times its requests in flight plus one, over its weight. Two random
// candidates, the cheaper wins: slow hosts shed load quickly and win it back gradually.
class PeakEwmaLb : public LoadBalancerBase {
 public:
  PeakEwmaLb(const LbConfig& config, std::vector<HostConstSharedPtr> hosts, RandomGenerator& random,
             const event::TimeSource& time)
      : LoadBalancerBase(config, std::move(hosts), random), time_(time) {}

  void onRequestComplete(const Host& host, std::chrono::nanoseconds latency) override {
    auto now = time_.monotonicTime();
    auto& state = states_[&host];
    double observed = static_cast<double>(latency.count());
    if (!state.seen) {
      state = {observed, now, true};
      return;
    }
    if (observed > state.estimate) {
      state.estimate = observed;  // the peak: believe bad news at once
    } else {
      double elapsed = static_cast<double>((now - state.updated).count());
      double tau = static_cast<double>(std::chrono::nanoseconds(config_.ewma_decay).count());
      double w = std::exp(-elapsed / tau);
      state.estimate = state.estimate * w + observed * (1 - w);
    }
    state.updated = now;
  }

 private:
  struct State {
    double estimate = 0;
    std::chrono::steady_clock::time_point updated;
    bool seen = false;
  };

  double cost(const Host& host) {
    auto it = states_.find(&host);
    double estimate =
        it == states_.end()
            ? static_cast<double>(std::chrono::nanoseconds(config_.ewma_default_rtt).count())
            : it->second.estimate;
    double load = static_cast<double>(host.active_requests.load(std::memory_order_relaxed) + 1);
    return estimate * load / host.weight;
  }
  HostConstSharedPtr pick(const LoadBalancerContext*) override {
    const auto& hosts = candidates();
    const auto& a = hosts[random_.random() % hosts.size()];
    const auto& b = hosts[random_.random() % hosts.size()];
    return cost(*b) < cost(*a) ? b : a;
  }

  const event::TimeSource& time_;
  std::unordered_map<const Host*, State> states_;
};

}  // namespace

LoadBalancerPtr createLoadBalancer(const LbConfig& config, std::vector<HostConstSharedPtr> hosts,
                                   RandomGenerator& random, const event::TimeSource& time) {
  switch (config.policy) {
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
    case LbConfig::Policy::kRoundRobin:
      break;
  }
  return std::make_unique<RoundRobinLb>(config, std::move(hosts), random);
}

}  // namespace remora::upstream
