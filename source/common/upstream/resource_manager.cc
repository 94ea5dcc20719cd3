#include "source/common/upstream/resource_manager.h"

#include <algorithm>
#include <cmath>

namespace remora::upstream {

bool Resource::tryAcquire() {
  uint64_t current = count_.load(std::memory_order_relaxed);
  do {
    if (current >= max_) {
      overflows_->inc();
      updateGauge(current);
      return false;
    }
  } while (!count_.compare_exchange_weak(current, current + 1, std::memory_order_relaxed));
  updateGauge(current + 1);
  return true;
}

void Resource::acquire() { updateGauge(count_.fetch_add(1, std::memory_order_relaxed) + 1); }

void Resource::release() { updateGauge(count_.fetch_sub(1, std::memory_order_relaxed) - 1); }

void Resource::countOverflow() { overflows_->inc(); }

void Resource::updateGauge(uint64_t count) { open_->set(count >= max_ ? 1 : 0); }

namespace {

Resource makeResource(uint64_t max, const char* breaker, const std::string& cluster,
                      stats::Store& store) {
  stats::Labels labels{{"cluster", cluster}, {"breaker", breaker}};
  return Resource(
      max,
      &store.gauge("remora_cluster_circuit_breaker_open",
                   "1 while the breaker's limit is reached (requests refused).", labels),
      &store.counter("remora_cluster_circuit_breaker_overflows_total",
                     "Requests, connections or retries refused by the breaker.", labels));
}

}  // namespace

ResourceManager::ResourceManager(const ResourceLimits& limits, const std::string& cluster,
                                 stats::Store& store)
    : limits_(limits),
      connections_(makeResource(limits.max_connections, "connections", cluster, store)),
      pending_(makeResource(limits.max_pending_requests, "pending_requests", cluster, store)),
      requests_(makeResource(limits.max_requests, "requests", cluster, store)),
      retries_(makeResource(limits.max_retries, "retries", cluster, store)) {}

bool ResourceManager::tryAcquireRetry() {
  // Budget: a share of the requests in flight, so a failing upstream cannot make retries
  // multiply its load; the minimum keeps retries possible at low traffic.
  double share = limits_.retry_budget_percent / 100.0 * static_cast<double>(requests_.count());
  uint64_t budget = std::max<uint64_t>(limits_.retry_budget_min_concurrency,
                                       static_cast<uint64_t>(std::floor(share)));
  if (retries_.count() >= budget) {
    retries_.countOverflow();
    return false;
  }
  return retries_.tryAcquire();
}

}  // namespace remora::upstream
