#include "source/common/upstream/host_health.h"

#include <atomic>

namespace remora::upstream {
namespace {
std::atomic<uint64_t> g_generation{1};
}  // namespace

bool setHealthFlag(const Host& host, Host::HealthFlag flag, bool set) {
  uint32_t before =
      set ? host.health_flags.fetch_or(flag, std::memory_order_relaxed)
          : host.health_flags.fetch_and(~static_cast<uint32_t>(flag), std::memory_order_relaxed);
  bool changed = ((before & flag) != 0) != set;
  if (changed) g_generation.fetch_add(1, std::memory_order_release);
  return changed;
}

uint64_t healthGeneration() { return g_generation.load(std::memory_order_acquire); }

}  // namespace remora::upstream
