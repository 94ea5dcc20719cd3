#include "source/common/upstream/load_balancer/simple_lb.h"

#include <algorithm>

namespace remora::upstream::lb {

void RoundRobinLb::onCandidatesChanged() {
  const auto& candidates = this->candidates();
  current_.assign(candidates.size(), 0);
  total_ = 0;
  equal_ = true;
  const uint64_t first = weightOf(*hosts()[candidates.front()]);
  for (uint32_t index : candidates) {
    const uint64_t weight = weightOf(*hosts()[index]);
    total_ += static_cast<int64_t>(weight);
    equal_ = equal_ && weight == first;
  }
  next_ = 0;
}

uint32_t RoundRobinLb::pick(const LoadBalancerContext*, uint32_t) {
  const auto& candidates = this->candidates();
  if (equal_) {
    // What the weighted loop below would do for equal weights, without the O(n) scan.
    uint32_t index = candidates[next_];
    next_ = next_ + 1 == candidates.size() ? 0 : next_ + 1;
    return index;
  }
  // nginx: every candidate gains its weight, the richest is picked and pays the total. The
  // first candidate wins ties, which makes the sequence deterministic.
  size_t best = 0;
  for (size_t i = 0; i < candidates.size(); ++i) {
    current_[i] += static_cast<int64_t>(weightOf(*hosts()[candidates[i]]));
    if (current_[i] > current_[best]) best = i;
  }
  current_[best] -= total_;
  return candidates[best];
}

void RandomLb::onCandidatesChanged() {
  cumulative_.clear();
  bool equal = true;
  uint64_t sum = 0;
  const uint64_t first = weightOf(*hosts()[candidates().front()]);
  for (uint32_t index : candidates()) {
    const uint64_t weight = weightOf(*hosts()[index]);
    equal = equal && weight == first;
    cumulative_.push_back(sum += weight);
  }
  if (equal) cumulative_.clear();
}

uint32_t RandomLb::pick(const LoadBalancerContext*, uint32_t) {
  const auto& candidates = this->candidates();
  if (cumulative_.empty()) return candidates[randomIndex(candidates.size())];
  // A draw in [0, total): the candidate whose weight interval holds it.
  const uint64_t draw = randomIndex(cumulative_.back());
  auto it = std::upper_bound(cumulative_.begin(), cumulative_.end(), draw);
  return candidates[it - cumulative_.begin()];
}

uint32_t LeastRequestLb::pick(const LoadBalancerContext*, uint32_t) {
  const auto& candidates = this->candidates();
  const uint32_t choices = config_.least_request_choice_count == 0
                               ? 2
                               : config_.least_request_choice_count;
  uint32_t best = candidates[randomIndex(candidates.size())];
  uint64_t best_load = hosts()[best]->active_requests.load(std::memory_order_relaxed) + 1;
  uint64_t best_weight = weightOf(*hosts()[best]);
  for (uint32_t i = 1; i < choices; ++i) {
    const uint32_t other = candidates[randomIndex(candidates.size())];
    const uint64_t load = hosts()[other]->active_requests.load(std::memory_order_relaxed) + 1;
    const uint64_t weight = weightOf(*hosts()[other]);
    // load / weight < best_load / best_weight, without division. The +1 makes weights count
    // when nothing is in flight (the usual case at low concurrency): an idle host of weight 3
    // beats an idle one of weight 1. Strictly less: the earlier draw keeps ties.
    if (static_cast<unsigned __int128>(load) * best_weight <
        static_cast<unsigned __int128>(best_load) * weight) {
      best = other;
      best_load = load;
      best_weight = weight;
    }
  }
  return best;
}

}  // namespace remora::upstream::lb
