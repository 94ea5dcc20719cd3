// PushPool: a stream is run after it is added, on every new generation (also long after it
// was added: the periodic sweep must keep it), when scheduled, and one at a time.

#include "source/pilot/push_pool.h"

#include <gtest/gtest.h>

#include <atomic>

namespace remora::pilot {
namespace {

using namespace std::chrono_literals;

class CountingStream : public PushPool::Stream {
 public:
  void run() override {
    int now = ++running_;
    max_concurrent_ = std::max(max_concurrent_.load(), now);
    std::this_thread::sleep_for(1ms);  // widen the window in which a second run could overlap
    --running_;
    ++runs_;
  }
  std::atomic<int> runs_{0};
  std::atomic<int> running_{0};
  std::atomic<int> max_concurrent_{0};
};

// Waits (up to 10 s) until `condition` holds.
template <class Condition>
bool eventually(Condition condition) {
  auto deadline = std::chrono::steady_clock::now() + 10s;
  while (!condition()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(1ms);
  }
  return true;
}

TEST(PushPoolTest, RunsStreamsOnEveryGeneration) {
  SnapshotCache cache;
  PushPool pool(cache, 2, 5ms);  // a short period: many sweeps between the generations
  auto stream = std::make_shared<CountingStream>();
  pool.add(stream);
  ASSERT_TRUE(eventually([&] { return stream->runs_ >= 1; }));
  for (int i = 0; i < 3; ++i) {
    std::this_thread::sleep_for(30ms);  // several sweeps
    int before = stream->runs_;
    cache.update(nullptr, {}, 0us);
    EXPECT_TRUE(eventually([&] { return stream->runs_ > before; })) << "generation " << i + 1;
  }
}

TEST(PushPoolTest, AStreamRunsOnOneWorkerAtATime) {
  SnapshotCache cache;
  PushPool pool(cache, 4, 1ms);
  auto stream = std::make_shared<CountingStream>();
  pool.add(stream);
  for (int i = 0; i < 200; ++i) pool.schedule(stream);
  ASSERT_TRUE(eventually([&] { return stream->runs_ >= 2; }));
  EXPECT_EQ(stream->max_concurrent_, 1);
}

TEST(PushPoolTest, DropsStreamsThatAreGone) {
  SnapshotCache cache;
  PushPool pool(cache, 1, 1ms);
  std::weak_ptr<CountingStream> weak;
  {
    auto stream = std::make_shared<CountingStream>();
    weak = stream;
    pool.add(stream);
    ASSERT_TRUE(eventually([&] { return stream->runs_ >= 1; }));
  }
  EXPECT_TRUE(eventually([&] { return weak.expired(); }));
}

// First pushes wait in line while the bytes computed but not written exceed the limit, and
// the first in line is run again when writes bring them under it.
TEST(PushPoolTest, FirstPushesTakeTurnsUnderTheByteLimit) {
  SnapshotCache cache;
  PushPool pool(cache, 1, 1h, 100);  // no periodic sweep: only releases wake the waiting
  auto a = std::make_shared<CountingStream>();
  auto b = std::make_shared<CountingStream>();
  auto c = std::make_shared<CountingStream>();
  EXPECT_TRUE(pool.mayPush(a));
  pool.queued(150);  // a's first push, not written yet
  EXPECT_FALSE(pool.mayPush(b));
  EXPECT_FALSE(pool.mayPush(c));
  EXPECT_FALSE(pool.mayPush(b));  // asking again keeps its place
  int b_runs = b->runs_;
  pool.released(100);  // 50 left: under the limit, b's turn
  EXPECT_TRUE(eventually([&] { return b->runs_ > b_runs; }));
  EXPECT_EQ(c->runs_, 0);
  EXPECT_FALSE(pool.mayPush(c));  // b is ahead of it
  EXPECT_TRUE(pool.mayPush(b));
  pool.queued(200);
  EXPECT_FALSE(pool.mayPush(c));
  pool.released(250);
  EXPECT_TRUE(eventually([&] { return c->runs_ > 0; }));
  EXPECT_TRUE(pool.mayPush(c));
  EXPECT_EQ(pool.queuedBytes(), 0u);
}

}  // namespace
}  // namespace remora::pilot
