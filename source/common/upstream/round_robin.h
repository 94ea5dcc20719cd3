#pragma once

// Smooth weighted round robin (nginx's algorithm): over any window of sum(weights) picks each
// host is chosen exactly `weight` times, interleaved rather than in bursts. Per worker; no locks.

#include <cstdint>
#include <vector>

#include "source/interface/upstream/cluster.h"

namespace remora::upstream {

class RoundRobinBalancer {
 public:
  explicit RoundRobinBalancer(const std::vector<HostConstSharedPtr>& hosts);
  // Null when there are no hosts.
  HostConstSharedPtr pick();

 private:
  const std::vector<HostConstSharedPtr>& hosts_;
  std::vector<int64_t> current_;
  int64_t total_weight_ = 0;
  bool equal_weights_ = true;
  size_t next_ = 0;
};

}  // namespace remora::upstream
