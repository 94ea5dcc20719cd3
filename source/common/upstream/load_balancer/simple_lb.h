#pragma once

// The policies that need no per-host state beyond the candidate set: round robin, random and
// least request.

#include <cstdint>
#include <vector>

#include "source/common/upstream/load_balancer/balancer_base.h"

namespace remora::upstream::lb {

// Contract: smooth weighted round robin (nginx). Over any sum(weights) consecutive picks, each
// candidate comes up exactly `weight` times, interleaved (5,1,1 gives a a b a c a a), in
// candidate order. The sequence restarts when the candidate set changes.
class RoundRobinLb : public BalancerBase {
 public:
  using BalancerBase::BalancerBase;

 private:
  uint32_t pick(const LoadBalancerContext* context, uint32_t attempt) override;
  void onCandidatesChanged() override;

  std::vector<int64_t> current_;  // nginx's current_weight, per candidate
  int64_t total_ = 0;
  bool equal_ = true;  // equal weights: plain rotation, O(1) instead of O(candidates)
  size_t next_ = 0;
};

// Contract: each pick is independent; a candidate's chance is its weight over the candidates'
// total weight.
class RandomLb : public BalancerBase {
 public:
  using BalancerBase::BalancerBase;

 private:
  uint32_t pick(const LoadBalancerContext* context, uint32_t attempt) override;
  void onCandidatesChanged() override;

  std::vector<uint64_t> cumulative_;  // running weight sums; empty when all weights are equal
};

// Contract: power of `least_request_choice_count` choices. That many candidates are drawn at
// random (with replacement); the one with the least (active_requests + 1) / weight wins, the
// earliest draw on a tie. With equal weights this is classic P2C on requests in flight.
class LeastRequestLb : public BalancerBase {
 public:
  using BalancerBase::BalancerBase;

 private:
  uint32_t pick(const LoadBalancerContext* context, uint32_t attempt) override;
};

}  // namespace remora::upstream::lb
