#include "source/server/downstream_connection_limit.h"

#include <sys/resource.h>

#include <algorithm>
#include <climits>

namespace remora::server {
namespace {
// Descriptors the proxy holds whatever its traffic: listening sockets (one per worker and
// listener), each loop's epoll and wake-up descriptors, admin, readiness, the config stream,
// DNS, watched files, logs.
constexpr uint64_t kOwnDescriptors = 64;
}  // namespace

DescriptorBudget DescriptorBudget::forLimit(uint64_t nofile) {
  DescriptorBudget budget;
  if (nofile == RLIM_INFINITY || nofile > static_cast<uint64_t>(INT_MAX)) return budget;
  // Kept free above the ceiling for admin, readiness and the config stream to accept and
  // connect when downstream connections have taken everything below it.
  uint64_t top = std::clamp<uint64_t>(nofile / 16, 16, 256);
  if (nofile <= top) return budget;
  budget.descriptor_ceiling = static_cast<int>(nofile - top);
  uint64_t below = nofile - top;
  budget.default_max_connections = below > kOwnDescriptors ? (below - kOwnDescriptors) / 2 : 1;
  return budget;
}

DescriptorBudget DescriptorBudget::forThisProcess() {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0) return {};
  return forLimit(limit.rlim_cur);
}

}  // namespace remora::server
