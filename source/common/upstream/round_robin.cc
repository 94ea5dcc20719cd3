#include "source/common/upstream/round_robin.h"

namespace remora::upstream {

RoundRobinBalancer::RoundRobinBalancer(const std::vector<HostConstSharedPtr>& hosts)
    : hosts_(hosts), current_(hosts.size(), 0) {
  for (const auto& host : hosts_) {
    total_weight_ += host->weight;
    if (host->weight != hosts_.front()->weight) equal_weights_ = false;
  }
}

HostConstSharedPtr RoundRobinBalancer::pick() {
  if (hosts_.empty()) return nullptr;
  if (equal_weights_) {
    // Equal weights need no bookkeeping: plain rotation, O(1).
    const auto& host = hosts_[next_];
    next_ = (next_ + 1) % hosts_.size();
    return host;
  }
  // O(hosts) per pick; fine for static clusters. Large dynamic sets get an EDF scheduler later.
  size_t best = 0;
  for (size_t i = 0; i < hosts_.size(); ++i) {
    current_[i] += hosts_[i]->weight;
    if (current_[i] > current_[best]) best = i;
  }
  current_[best] -= total_weight_;
  return hosts_[best];
}

}  // namespace remora::upstream
