#pragma once

// The process-wide cap on downstream connections, shared by every worker's listeners (the
// admin and readiness endpoints are not counted: they must keep answering at the limit), and
// the descriptor ceiling listeners keep below. Both exist so a flood of connections cannot
// take the descriptors the proxy needs for everything else: upstream connections of the
// connections it already serves, the config stream, admin and readiness.

#include <atomic>
#include <cstdint>

namespace remora::server {

// What a descriptor limit (RLIMIT_NOFILE) leaves for downstream connections.
struct DescriptorBudget {
  // Accepted descriptors at or above this number are closed at once (0: none).
  int descriptor_ceiling = 0;
  // The default cap on downstream connections: each may need an upstream connection too, so
  // about half of what is left below the ceiling after the proxy's own descriptors.
  uint64_t default_max_connections = 0;

  // `nofile`: the soft descriptor limit; RLIM_INFINITY (or anything over INT_MAX) means no
  // ceiling and no default cap.
  static DescriptorBudget forLimit(uint64_t nofile);
  // For this process's current soft RLIMIT_NOFILE.
  static DescriptorBudget forThisProcess();
};

// Thread-safe; lives as long as the workers.
class DownstreamConnectionLimit {
 public:
  // `max` 0: no limit.
  DownstreamConnectionLimit(uint64_t max, int descriptor_ceiling)
      : max_(max), descriptor_ceiling_(descriptor_ceiling) {}

  // Any thread. Counts one more connection and returns true when it fits; false (counting
  // nothing) when `max` are already open.
  bool tryAcquire() {
    uint64_t now = open_.fetch_add(1, std::memory_order_relaxed);
    if (max_ != 0 && now >= max_) {
      open_.fetch_sub(1, std::memory_order_relaxed);
      return false;
    }
    return true;
  }
  // Any thread. One counted connection closed.
  void release() { open_.fetch_sub(1, std::memory_order_relaxed); }

  uint64_t open() const { return open_.load(std::memory_order_relaxed); }
  uint64_t max() const { return max_; }
  int descriptorCeiling() const { return descriptor_ceiling_; }

 private:
  const uint64_t max_;
  const int descriptor_ceiling_;
  std::atomic<uint64_t> open_{0};
};

}  // namespace remora::server
