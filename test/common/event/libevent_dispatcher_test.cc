#include "source/common/event/libevent_dispatcher.h"

#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <future>
#include <thread>
#include <vector>

#include "test/common/event/dispatcher_test_fixture.h"

namespace remora::event {
namespace {

using std::chrono::milliseconds;
using test::DispatcherTest;

TEST_F(DispatcherTest, Name) { EXPECT_EQ(dispatcher_.name(), "test"); }

TEST_F(DispatcherTest, PostsFromOtherThreadsRunOnTheLoopThreadInOrder) {
  constexpr int kThreads = 4;
  constexpr int kPerThread = 2000;
  std::vector<std::vector<int>> seen(kThreads);
  std::thread::id loop_thread = std::this_thread::get_id();
  int remaining = kThreads * kPerThread;
  bool all_on_loop_thread = true;
  std::vector<std::thread> posters;
  for (int t = 0; t < kThreads; ++t) {
    posters.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        dispatcher_.post([&, t, i] {
          all_on_loop_thread &= std::this_thread::get_id() == loop_thread;
          all_on_loop_thread &= dispatcher_.isThreadSafe();
          seen[t].push_back(i);
          if (--remaining == 0) dispatcher_.exit();
        });
      }
    });
  }
  runWithDeadline();
  for (auto& p : posters) p.join();
  EXPECT_TRUE(all_on_loop_thread);
  for (int t = 0; t < kThreads; ++t) {
    ASSERT_EQ(seen[t].size(), static_cast<size_t>(kPerThread));
    for (int i = 0; i < kPerThread; ++i) ASSERT_EQ(seen[t][i], i) << "thread " << t;
  }
}

TEST_F(DispatcherTest, PostBeforeRunRunsOnceTheLoopStarts) {
  std::vector<int> order;
  dispatcher_.post([&] { order.push_back(1); });
  dispatcher_.post([&] {
    order.push_back(2);
    dispatcher_.exit();
  });
  runWithDeadline();
  EXPECT_EQ(order, (std::vector<int>{1, 2}));
}

// post() promises a later loop iteration, so a callback that keeps re-posting itself (a task
// that yields by posting its continuation) must not starve timers and I/O.
TEST_F(DispatcherTest, RepostingCallbackDoesNotStarveTimers) {
  constexpr int kLimit = 1000000;
  int reposts = 0;
  bool timer_fired = false;
  std::function<void()> step = [&] {
    if (timer_fired || ++reposts == kLimit) return;
    dispatcher_.post(step);
  };
  TimerPtr timer = dispatcher_.createTimer([&] {
    timer_fired = true;
    dispatcher_.exit();
  });
  timer->enable(milliseconds(1));
  dispatcher_.post(step);
  runWithDeadline();
  EXPECT_LT(reposts, kLimit)
      << "BUG: LibeventDispatcher::post() from a posted callback re-activates post_event_ with "
         "event_active(), which libevent runs in the same iteration, so the timer waited for "
         "all "
      << kLimit << " re-posts";
}

TEST_F(DispatcherTest, ExitFromAnotherThreadViaPost) {
  std::thread other([&] { dispatcher_.post([&] { dispatcher_.exit(); }); });
  runWithDeadline();
  other.join();
}

TEST_F(DispatcherTest, IsThreadSafeOnlyOnTheRunningThread) {
  std::promise<void> running;
  std::thread loop([&] {
    dispatcher_.post([&] { running.set_value(); });
    dispatcher_.run();
  });
  running.get_future().wait();
  EXPECT_FALSE(dispatcher_.isThreadSafe());
  std::promise<bool> inside;
  dispatcher_.post([&] { inside.set_value(dispatcher_.isThreadSafe()); });
  EXPECT_TRUE(inside.get_future().get());
  dispatcher_.post([&] { dispatcher_.exit(); });
  loop.join();
}

class Tracked : public DeferredDeletable {
 public:
  explicit Tracked(bool& deleted) : deleted_(deleted) {}
  ~Tracked() override { deleted_ = true; }

 private:
  bool& deleted_;
};

TEST_F(DispatcherTest, DeferredDeleteWaitsForTheCurrentCallback) {
  bool deleted = false;
  bool alive_during_callback = false;
  bool deleted_by_next_turn = false;
  TimerPtr check = dispatcher_.createTimer([&] {
    deleted_by_next_turn = deleted;
    dispatcher_.exit();
  });
  dispatcher_.post([&] {
    auto object = std::make_unique<Tracked>(deleted);
    dispatcher_.deferredDelete(std::move(object));
    alive_during_callback = !deleted;
    check->enable(milliseconds(0));
  });
  runWithDeadline();
  EXPECT_TRUE(alive_during_callback);
  EXPECT_TRUE(deleted_by_next_turn);
}

// A destructor that defers another deletion, as a connection owning a connection might.
class Chained : public DeferredDeletable {
 public:
  Chained(Dispatcher& dispatcher, int& deleted, int depth)
      : dispatcher_(dispatcher), deleted_(deleted), depth_(depth) {}
  ~Chained() override {
    ++deleted_;
    if (depth_ > 0) {
      dispatcher_.deferredDelete(std::make_unique<Chained>(dispatcher_, deleted_, depth_ - 1));
    }
  }

 private:
  Dispatcher& dispatcher_;
  int& deleted_;
  int depth_;
};

TEST_F(DispatcherTest, DeletionsDeferredByDestructorsAlsoRun) {
  int deleted = 0;
  dispatcher_.post(
      [&] { dispatcher_.deferredDelete(std::make_unique<Chained>(dispatcher_, deleted, 4)); });
  TimerPtr stop = exitAfter(milliseconds(20));
  runWithDeadline();
  EXPECT_EQ(deleted, 5);
}

TEST(DispatcherLifetimeTest, DestroyingTheDispatcherDeletesPendingObjects) {
  bool deleted = false;
  {
    LibeventDispatcher dispatcher("short");
    dispatcher.deferredDelete(std::make_unique<Tracked>(deleted));
    EXPECT_FALSE(deleted);
  }
  EXPECT_TRUE(deleted);
}

}  // namespace
}  // namespace remora::event
