// The process-wide downstream connection limit: counting across threads, and what a
// descriptor limit leaves for downstream connections.

#include "source/server/downstream_connection_limit.h"

#include <sys/resource.h>

#include <thread>
#include <vector>

#include "gtest/gtest.h"

namespace remora::server {
namespace {

TEST(DownstreamConnectionLimitTest, RefusesOverTheMaxAndFitsAgainAfterARelease) {
  DownstreamConnectionLimit limit(2, 0);
  EXPECT_TRUE(limit.tryAcquire());
  EXPECT_TRUE(limit.tryAcquire());
  EXPECT_FALSE(limit.tryAcquire());
  EXPECT_EQ(limit.open(), 2u);
  limit.release();
  EXPECT_TRUE(limit.tryAcquire());
  EXPECT_FALSE(limit.tryAcquire());
}

TEST(DownstreamConnectionLimitTest, ZeroMeansNoLimit) {
  DownstreamConnectionLimit limit(0, 0);
  for (int i = 0; i < 100000; ++i) ASSERT_TRUE(limit.tryAcquire());
  EXPECT_EQ(limit.open(), 100000u);
}

TEST(DownstreamConnectionLimitTest, NeverAdmitsMoreThanTheMaxFromManyThreads) {
  DownstreamConnectionLimit limit(1000, 0);
  std::atomic<uint64_t> admitted{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 10000; ++i) {
        if (limit.tryAcquire()) admitted.fetch_add(1);
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(admitted.load(), 1000u);
  EXPECT_EQ(limit.open(), 1000u);
}

TEST(DescriptorBudgetTest, KeepsTheTopFreeAndHalvesTheRest) {
  // 1024: the top 64 are kept; (960 - 64) / 2 connections.
  auto budget = DescriptorBudget::forLimit(1024);
  EXPECT_EQ(budget.descriptor_ceiling, 960);
  EXPECT_EQ(budget.default_max_connections, 448u);
  // A pod's usual 1048576: at most 256 kept at the top.
  budget = DescriptorBudget::forLimit(1048576);
  EXPECT_EQ(budget.descriptor_ceiling, 1048576 - 256);
  EXPECT_EQ(budget.default_max_connections, (1048576u - 256 - 64) / 2);
  // Small limits keep at least 16.
  budget = DescriptorBudget::forLimit(128);
  EXPECT_EQ(budget.descriptor_ceiling, 112);
  EXPECT_EQ(budget.default_max_connections, 24u);
  budget = DescriptorBudget::forLimit(70);
  EXPECT_EQ(budget.descriptor_ceiling, 54);
  EXPECT_EQ(budget.default_max_connections, 1u);
}

TEST(DescriptorBudgetTest, NoLimitMeansNoCeilingAndNoDefaultCap) {
  auto budget = DescriptorBudget::forLimit(RLIM_INFINITY);
  EXPECT_EQ(budget.descriptor_ceiling, 0);
  EXPECT_EQ(budget.default_max_connections, 0u);
}

}  // namespace
}  // namespace remora::server
