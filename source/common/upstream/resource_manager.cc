#include "source/common/upstream/resource_manager.h"

#include <algorithm>
#include <cmath>

namespace remora::upstream {

bool Resource::tryAcquire() {
  uint64_t current = count_.load(std::memory_order_relaxed);
  do {
    if (current >= max_) {
      overflows_.inc();
      updateGauge(current);
      return false;
    }
  } while (!count_.compare_exchange_weak(current, current + 1, std::memory_order_relaxed));
  updateGauge(current + 1);
  return true;
}

void Resource::acquire() { updateGauge(count_.fetch_add(1, std::memory_order_relaxed) + 1); }

void Resource::release() { updateGauge(count_.fetch_sub(1, std::memory_order_relaxed) - 1); }

void Resource::countOverflow() { overflows_.inc(); }

void Resource::updateGauge(uint64_t count) { open_.set(count >= max_ ? 1 : 0); }

namespace {

constexpr const char* kOpenHelp = "1 while the breaker's limit is reached (requests refused).";
constexpr const char* kOverflowHelp = "Requests, connections or retries refused by the breaker.";

// Per breaker: {open gauge, overflow counter}, labelled breaker="<name>".
constexpr stats::MetricSpec breakerSpec(const char* metric, const char* help, const char* breaker) {
  return {.name = metric, .help = help, .label_name = "breaker", .label_value = breaker};
}
constexpr const char* kOpen = "remora_cluster_circuit_breaker_open";
constexpr const char* kOverflows = "remora_cluster_circuit_breaker_overflows_total";
constexpr stats::MetricSpec kConnectionsOpen = breakerSpec(kOpen, kOpenHelp, "connections");
constexpr stats::MetricSpec kConnectionsOverflows =
    breakerSpec(kOverflows, kOverflowHelp, "connections");
constexpr stats::MetricSpec kPendingOpen = breakerSpec(kOpen, kOpenHelp, "pending_requests");
constexpr stats::MetricSpec kPendingOverflows =
    breakerSpec(kOverflows, kOverflowHelp, "pending_requests");
constexpr stats::MetricSpec kRequestsOpen = breakerSpec(kOpen, kOpenHelp, "requests");
constexpr stats::MetricSpec kRequestsOverflows = breakerSpec(kOverflows, kOverflowHelp, "requests");
constexpr stats::MetricSpec kRetriesOpen = breakerSpec(kOpen, kOpenHelp, "retries");
constexpr stats::MetricSpec kRetriesOverflows = breakerSpec(kOverflows, kOverflowHelp, "retries");

}  // namespace

ResourceManager::ResourceManager(const ResourceLimits& limits, const std::string& cluster,
                                 stats::Store& store)
    : limits_(limits),
      scope_{store, {{"cluster", cluster}}},
      connections_(limits.max_connections, scope_, kConnectionsOpen, kConnectionsOverflows),
      pending_(limits.max_pending_requests, scope_, kPendingOpen, kPendingOverflows),
      requests_(limits.max_requests, scope_, kRequestsOpen, kRequestsOverflows),
      retries_(limits.max_retries, scope_, kRetriesOpen, kRetriesOverflows) {}

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
