#pragma once

// Circuit breakers of one cluster, shared by every worker: limits on concurrent connections,
// pending requests, requests and retries, and a retry budget. Each limit is an atomic count;
// taking a slot beyond the limit fails at once (the caller answers 503 with
// x-remora-overloaded), is counted, and a gauge shows the breaker open while the count is at
// its limit.

#include <atomic>
#include <cstdint>
#include <string>

#include "source/common/stats/lazy_metrics.h"
#include "source/interface/stats/stats.h"

namespace remora::upstream {

class ResourceManager;

class Resource {
 public:
  // `index` names this breaker among its manager's metrics.
  Resource(uint64_t max, ResourceManager& owner, uint8_t index)
      : max_(max), owner_(owner), index_(index) {}
  // Takes a slot; false (and counted as an overflow) when all are taken.
  bool tryAcquire();
  // Takes a slot whatever the limit (for what cannot be refused, e.g. a connection already
  // made); the breaker shows open when that goes over.
  void acquire();
  void release();
  uint64_t count() const { return count_.load(std::memory_order_relaxed); }
  uint64_t max() const { return max_; }
  // Counts an overflow decided elsewhere (the retry budget).
  void countOverflow();

 private:
  void updateGauge(uint64_t count);

  const uint64_t max_;
  std::atomic<uint64_t> count_{0};
  ResourceManager& owner_;
  const uint8_t index_;
};

struct ResourceLimits {
  uint64_t max_connections = 1024;
  uint64_t max_pending_requests = 1024;
  uint64_t max_requests = 1024;
  uint64_t max_retries = 3;
  // Retry budget: retries in flight may be this share of the requests in flight...
  double retry_budget_percent = 20.0;
  // ...but at least this many.
  uint64_t retry_budget_min_concurrency = 3;
};

class ResourceManager {
 public:
  // Registers the breaker gauges and overflow counters under `cluster`.
  ResourceManager(const ResourceLimits& limits, const std::string& cluster, stats::Store& store);

  Resource& connections() { return connections_; }
  Resource& pendingRequests() { return pending_; }
  Resource& requests() { return requests_; }
  Resource& retries() { return retries_; }
  // Takes a retry slot if both the max-retries breaker and the retry budget allow it.
  bool tryAcquireRetry();

 private:
  friend class Resource;
  // Each breaker's open gauge and overflow counter, made the first time a breaker fills up or
  // refuses: most clusters never do, and then cost no metrics at all.
  struct BreakerMetrics;
  BreakerMetrics& metrics();
  BreakerMetrics* metricsIfMade() const { return metrics_.load(std::memory_order_acquire); }

  ResourceLimits limits_;
  stats::Store& store_;
  std::string cluster_;
  std::atomic<BreakerMetrics*> metrics_{nullptr};
  Resource connections_;
  Resource pending_;
  Resource requests_;
  Resource retries_;

 public:
  ~ResourceManager();
  ResourceManager(const ResourceManager&) = delete;
  ResourceManager& operator=(const ResourceManager&) = delete;
};

}  // namespace remora::upstream
