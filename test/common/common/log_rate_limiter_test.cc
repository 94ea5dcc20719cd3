// LogRateLimiter on a simulated clock: the first occurrence is written, the rest of the
// interval is suppressed and counted, and the next written line carries that count.

#include "source/common/common/log_rate_limiter.h"

#include <gtest/gtest.h>

namespace remora::log {
namespace {

using std::chrono::milliseconds;

class FakeClock {
 public:
  std::chrono::steady_clock::time_point now() const { return now_; }
  void advance(milliseconds d) { now_ += d; }
  LogRateLimiter::Clock clock() {
    return [this] { return now_; };
  }

 private:
  std::chrono::steady_clock::time_point now_{std::chrono::seconds(1000)};
};

TEST(LogRateLimiterTest, FirstOccurrenceIsWrittenWithNothingSuppressed) {
  FakeClock clock;
  LogRateLimiter limiter(milliseconds(1000), clock.clock());
  uint64_t suppressed = 99;
  EXPECT_TRUE(limiter.allow(suppressed));
  EXPECT_EQ(suppressed, 0u);
}

TEST(LogRateLimiterTest, SuppressesWithinTheIntervalAndReportsTheCountAfter) {
  FakeClock clock;
  LogRateLimiter limiter(milliseconds(1000), clock.clock());
  uint64_t suppressed = 0;
  ASSERT_TRUE(limiter.allow(suppressed));
  for (int i = 0; i < 500; ++i) {
    clock.advance(milliseconds(1));
    EXPECT_FALSE(limiter.allow(suppressed)) << i;
  }
  EXPECT_EQ(limiter.suppressed(), 500u);
  clock.advance(milliseconds(499));  // 999 ms after the written one
  EXPECT_FALSE(limiter.allow(suppressed));
  clock.advance(milliseconds(1));  // exactly one interval
  EXPECT_TRUE(limiter.allow(suppressed));
  EXPECT_EQ(suppressed, 501u);
  EXPECT_EQ(limiter.suppressed(), 0u);
}

TEST(LogRateLimiterTest, IntervalCountsFromTheLastWrittenLine) {
  FakeClock clock;
  LogRateLimiter limiter(milliseconds(100), clock.clock());
  uint64_t suppressed = 0;
  ASSERT_TRUE(limiter.allow(suppressed));
  clock.advance(milliseconds(250));
  ASSERT_TRUE(limiter.allow(suppressed));  // quiet for longer than the interval
  EXPECT_EQ(suppressed, 0u);
  clock.advance(milliseconds(99));
  EXPECT_FALSE(limiter.allow(suppressed));
  clock.advance(milliseconds(1));
  EXPECT_TRUE(limiter.allow(suppressed));
  EXPECT_EQ(suppressed, 1u);
}

TEST(LogRateLimiterTest, AFloodWritesOneLinePerInterval) {
  FakeClock clock;
  LogRateLimiter limiter(milliseconds(10000), clock.clock());
  uint64_t suppressed = 0;
  int written = 0;
  uint64_t total_suppressed = 0;
  // 60 simulated seconds of 1000 occurrences a second.
  for (int i = 0; i < 60000; ++i) {
    if (limiter.allow(suppressed)) {
      ++written;
      total_suppressed += suppressed;
    }
    clock.advance(milliseconds(1));
  }
  EXPECT_EQ(written, 6);
  EXPECT_EQ(total_suppressed + limiter.suppressed() + written, 60000u);
}

TEST(LogRateLimiterTest, WriteLimitedSkipsSuppressedLines) {
  FakeClock clock;
  LogRateLimiter limiter(milliseconds(1000), clock.clock());
  Level before = level();
  setLevel(Level::off);  // nothing reaches stderr; the limiter still counts
  writeLimited(limiter, Level::warn, "first %d", 1);
  writeLimited(limiter, Level::warn, "second %d", 2);
  writeLimited(limiter, Level::warn, "third %d", 3);
  EXPECT_EQ(limiter.suppressed(), 2u);
  setLevel(before);
}

}  // namespace
}  // namespace remora::log
