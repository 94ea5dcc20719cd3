// The token bucket with a hand-driven clock.

#include "source/common/router/token_bucket.h"

#include "gtest/gtest.h"

namespace remora::router {
namespace {

using std::chrono::milliseconds;

TEST(TokenBucketTest, BurstThenRefillPerInterval) {
  TokenBucket bucket(5, 2, milliseconds(1000));
  TokenBucket::TimePoint t{};
  for (int i = 0; i < 5; ++i) {
    auto r = bucket.consume(t);
    EXPECT_TRUE(r.allowed);
    EXPECT_EQ(r.remaining, static_cast<uint32_t>(4 - i));
  }
  auto refused = bucket.consume(t + milliseconds(400));
  EXPECT_FALSE(refused.allowed);
  EXPECT_EQ(refused.reset, milliseconds(600));
  // One interval: two more tokens, no more.
  EXPECT_TRUE(bucket.consume(t + milliseconds(1000)).allowed);
  EXPECT_TRUE(bucket.consume(t + milliseconds(1001)).allowed);
  EXPECT_FALSE(bucket.consume(t + milliseconds(1999)).allowed);
  // A long quiet spell fills it only to the top.
  int allowed = 0;
  while (bucket.consume(t + milliseconds(60000)).allowed) ++allowed;
  EXPECT_EQ(allowed, 5);
}

TEST(TokenBucketTest, PartialIntervalsCarryOver) {
  TokenBucket bucket(1, 1, milliseconds(100));
  TokenBucket::TimePoint t{};
  EXPECT_TRUE(bucket.consume(t).allowed);
  EXPECT_FALSE(bucket.consume(t + milliseconds(60)).allowed);
  // 60 ms + 60 ms: one interval has passed since the first fill, though no gap was 100 ms.
  EXPECT_TRUE(bucket.consume(t + milliseconds(120)).allowed);
}

}  // namespace
}  // namespace remora::router
