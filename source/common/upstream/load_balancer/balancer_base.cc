#include "source/common/upstream/load_balancer/balancer_base.h"

#include <utility>

namespace remora::upstream::lb {

BalancerBase::BalancerBase(const LbConfig& config, std::vector<HostConstSharedPtr> hosts,
                           RandomGenerator& random)
    : config_(config),
      random_(random),
      hosts_(std::move(hosts)),
      healthy_(hosts_.size(), 0),
      is_candidate_(hosts_.size(), 0) {}

void BalancerBase::refreshCandidates() {
  size_t healthy_count = 0;
  for (size_t i = 0; i < hosts_.size(); ++i) {
    healthy_[i] = hosts_[i]->healthy() ? 1 : 0;
    healthy_count += healthy_[i];
  }
  panic_ = healthy_count == 0 ||
           healthy_count * 100 < hosts_.size() * uint64_t{config_.panic_threshold_percent};
  std::vector<uint32_t> next;
  next.reserve(panic_ ? hosts_.size() : healthy_count);
  for (size_t i = 0; i < hosts_.size(); ++i) {
    if (panic_ || healthy_[i]) next.push_back(static_cast<uint32_t>(i));
  }
  // In panic a health change leaves the set as it was; rebuilding a maglev table for nothing
  // would cost milliseconds.
  if (built_ && next == candidates_) return;
  built_ = true;
  candidates_ = std::move(next);
  is_candidate_.assign(hosts_.size(), 0);
  for (uint32_t index : candidates_) is_candidate_[index] = 1;
  onCandidatesChanged();
}

uint32_t BalancerBase::pickHealthy(const LoadBalancerContext* context, uint32_t attempt) {
  uint32_t index = pick(context, attempt);
  if (!panic_ && !hosts_[index]->healthy()) {
    // The snapshot is stale: this candidate failed since. Rebuild (which may start a panic) and
    // pick again.
    refreshCandidates();
    index = pick(context, attempt);
  }
  return index;
}

HostConstSharedPtr BalancerBase::chooseHost(const LoadBalancerContext* context) {
  if (hosts_.empty()) return nullptr;
  if (!built_) {
    refreshCandidates();
  } else {
    uint32_t probe = probe_;
    probe_ = probe + 1 == hosts_.size() ? 0 : probe + 1;
    if ((hosts_[probe]->healthy() ? 1 : 0) != healthy_[probe]) refreshCandidates();
  }
  uint32_t index = pickHealthy(context, 0);
  const uint32_t retries = context != nullptr ? context->hostSelectionRetryCount() : 0;
  for (uint32_t attempt = 1; attempt <= retries && context->shouldSkipHost(*hosts_[index]);
       ++attempt) {
    index = pickHealthy(context, attempt);
  }
  return hosts_[index];
}

uint64_t BalancerBase::lookupKey(const LoadBalancerContext* context, uint32_t attempt) {
  std::optional<uint64_t> key = context != nullptr ? context->hashKey() : std::nullopt;
  if (!key) return random_.random();
  if (attempt == 0) return *key;
  return mix64(*key + attempt * 0x9E3779B97F4A7C15ULL);
}

}  // namespace remora::upstream::lb
