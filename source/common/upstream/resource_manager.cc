#include "source/common/upstream/resource_manager.h"

#include <algorithm>
#include <cmath>
#include <memory>

namespace remora::upstream {

bool Resource::tryAcquire() {
  uint64_t current = count_.load(std::memory_order_relaxed);
  do {
    if (current >= max_) {
      countOverflow();
      updateGauge(current);
      return false;
    }
  } while (!count_.compare_exchange_weak(current, current + 1, std::memory_order_relaxed));
  updateGauge(current + 1);
  return true;
}

void Resource::acquire() { updateGauge(count_.fetch_add(1, std::memory_order_relaxed) + 1); }

void Resource::release() { updateGauge(count_.fetch_sub(1, std::memory_order_relaxed) - 1); }

namespace {

constexpr const char* kOpenHelp = "1 while the breaker's limit is reached (requests refused).";
constexpr const char* kOverflowHelp = "Requests, connections or retries refused by the breaker.";
constexpr const char* kOpen = "remora_cluster_circuit_breaker_open";
constexpr const char* kOverflows = "remora_cluster_circuit_breaker_overflows_total";

// Per breaker (in Resource index order), labelled breaker="<name>".
constexpr stats::MetricSpec breakerSpec(const char* metric, const char* help, const char* breaker) {
  return {.name = metric, .help = help, .label_name = "breaker", .label_value = breaker};
}
constexpr stats::MetricSpec kOpenSpecs[] = {
    breakerSpec(kOpen, kOpenHelp, "connections"), breakerSpec(kOpen, kOpenHelp, "pending_requests"),
    breakerSpec(kOpen, kOpenHelp, "requests"), breakerSpec(kOpen, kOpenHelp, "retries")};
constexpr stats::MetricSpec kOverflowSpecs[] = {
    breakerSpec(kOverflows, kOverflowHelp, "connections"),
    breakerSpec(kOverflows, kOverflowHelp, "pending_requests"),
    breakerSpec(kOverflows, kOverflowHelp, "requests"),
    breakerSpec(kOverflows, kOverflowHelp, "retries")};

}  // namespace

struct ResourceManager::BreakerMetrics {
  BreakerMetrics(stats::Store& store, const std::string& cluster)
      : scope{store, {{"cluster", cluster}}},
        open{{scope, kOpenSpecs[0]},
             {scope, kOpenSpecs[1]},
             {scope, kOpenSpecs[2]},
             {scope, kOpenSpecs[3]}},
        overflows{{scope, kOverflowSpecs[0]},
                  {scope, kOverflowSpecs[1]},
                  {scope, kOverflowSpecs[2]},
                  {scope, kOverflowSpecs[3]}} {}
  stats::LazyScope scope;
  stats::LazyGauge open[4];
  stats::LazyCounter overflows[4];
};

void Resource::countOverflow() { owner_.metrics().overflows[index_].inc(); }

void Resource::updateGauge(uint64_t count) {
  if (count >= max_) {
    owner_.metrics().open[index_].set(1);
  } else if (auto* metrics = owner_.metricsIfMade()) {
    metrics->open[index_].set(0);
  }
}

ResourceManager::ResourceManager(const ResourceLimits& limits, const std::string& cluster,
                                 stats::Store& store)
    : limits_(limits),
      store_(store),
      cluster_(cluster),
      connections_(limits.max_connections, *this, 0),
      pending_(limits.max_pending_requests, *this, 1),
      requests_(limits.max_requests, *this, 2),
      retries_(limits.max_retries, *this, 3) {}

ResourceManager::~ResourceManager() { delete metrics_.load(std::memory_order_acquire); }

ResourceManager::BreakerMetrics& ResourceManager::metrics() {
  BreakerMetrics* metrics = metrics_.load(std::memory_order_acquire);
  if (metrics != nullptr) return *metrics;
  auto made = std::make_unique<BreakerMetrics>(store_, cluster_);
  if (metrics_.compare_exchange_strong(metrics, made.get(), std::memory_order_acq_rel)) {
    return *made.release();
  }
  return *metrics;
}

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
