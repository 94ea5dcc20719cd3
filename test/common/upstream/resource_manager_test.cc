// Circuit breakers: limits, overflow counting, the open gauge, and the retry budget.

#include "source/common/upstream/resource_manager.h"

#include "gtest/gtest.h"
#include "source/common/stats/store_impl.h"

namespace remora::upstream {
namespace {

class ResourceManagerTest : public ::testing::Test {
 protected:
  double gauge(const std::string& breaker) {
    return static_cast<double>(
        store_
            .gauge("remora_cluster_circuit_breaker_open",
                   "1 while the breaker's limit is reached (requests refused).",
                   {{"cluster", "c"}, {"breaker", breaker}})
            .value());
  }
  double overflows(const std::string& breaker) {
    return static_cast<double>(
        store_
            .counter("remora_cluster_circuit_breaker_overflows_total",
                     "Requests, connections or retries refused by the breaker.",
                     {{"cluster", "c"}, {"breaker", breaker}})
            .value());
  }
  stats::StoreImpl store_;
};

TEST_F(ResourceManagerTest, LimitRefusesCountsAndShowsOpen) {
  ResourceLimits limits;
  limits.max_requests = 2;
  ResourceManager manager(limits, "c", store_);
  auto& requests = manager.requests();
  EXPECT_TRUE(requests.tryAcquire());
  EXPECT_EQ(gauge("requests"), 0);
  EXPECT_TRUE(requests.tryAcquire());
  EXPECT_EQ(gauge("requests"), 1);  // at the limit: the next one is refused
  EXPECT_FALSE(requests.tryAcquire());
  EXPECT_FALSE(requests.tryAcquire());
  EXPECT_EQ(overflows("requests"), 2);
  EXPECT_EQ(requests.count(), 2u);
  requests.release();
  EXPECT_EQ(gauge("requests"), 0);
  EXPECT_TRUE(requests.tryAcquire());
}

// Breakers that never filled up add no series to the exposition; once one has, it stays listed
// (showing 0 again when it closes).
TEST_F(ResourceManagerTest, SeriesAppearOnlyOnceABreakerFillsUp) {
  ResourceLimits limits;
  limits.max_requests = 2;
  ResourceManager manager(limits, "c", store_);
  auto& requests = manager.requests();
  EXPECT_TRUE(requests.tryAcquire());
  requests.release();
  EXPECT_EQ(store_.prometheusText().find("breaker="), std::string::npos);
  EXPECT_TRUE(requests.tryAcquire());
  EXPECT_TRUE(requests.tryAcquire());
  EXPECT_FALSE(requests.tryAcquire());
  std::string text = store_.prometheusText();
  EXPECT_NE(text.find("remora_cluster_circuit_breaker_open{breaker=\"requests\",cluster=\"c\"} 1"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("remora_cluster_circuit_breaker_overflows_total{breaker=\"requests\","
                      "cluster=\"c\"} 1"),
            std::string::npos)
      << text;
  EXPECT_EQ(text.find("breaker=\"connections\""), std::string::npos) << text;
  requests.release();
  requests.release();
  EXPECT_NE(store_.prometheusText().find(
                "remora_cluster_circuit_breaker_open{breaker=\"requests\",cluster=\"c\"} 0"),
            std::string::npos);
}

TEST_F(ResourceManagerTest, EachBreakerIsSeparate) {
  ResourceLimits limits;
  limits.max_connections = 1;
  limits.max_pending_requests = 1;
  ResourceManager manager(limits, "c", store_);
  EXPECT_TRUE(manager.connections().tryAcquire());
  EXPECT_FALSE(manager.connections().tryAcquire());
  EXPECT_TRUE(manager.pendingRequests().tryAcquire());
  EXPECT_TRUE(manager.requests().tryAcquire());
  EXPECT_EQ(overflows("connections"), 1);
  EXPECT_EQ(overflows("pending_requests"), 0);
}

TEST_F(ResourceManagerTest, RetryBudgetIsAShareOfRequestsWithAMinimum) {
  ResourceLimits limits;
  limits.max_retries = 100;
  limits.retry_budget_percent = 20;
  limits.retry_budget_min_concurrency = 2;
  ResourceManager manager(limits, "c", store_);
  // Few requests in flight: the minimum applies.
  EXPECT_TRUE(manager.tryAcquireRetry());
  EXPECT_TRUE(manager.tryAcquireRetry());
  EXPECT_FALSE(manager.tryAcquireRetry());
  EXPECT_EQ(overflows("retries"), 1);
  // 50 requests in flight: 20% of them, 10 retries.
  for (int i = 0; i < 50; ++i) manager.requests().tryAcquire();
  int more = 0;
  while (manager.tryAcquireRetry()) ++more;
  EXPECT_EQ(more, 8);
  EXPECT_EQ(manager.retries().count(), 10u);
}

TEST_F(ResourceManagerTest, MaxRetriesCapsTheBudget) {
  ResourceLimits limits;
  limits.max_retries = 3;
  limits.retry_budget_percent = 100;
  limits.retry_budget_min_concurrency = 3;
  ResourceManager manager(limits, "c", store_);
  for (int i = 0; i < 100; ++i) manager.requests().tryAcquire();
  int taken = 0;
  while (manager.tryAcquireRetry()) ++taken;
  EXPECT_EQ(taken, 3);
  EXPECT_EQ(gauge("retries"), 1);
}

}  // namespace
}  // namespace remora::upstream
