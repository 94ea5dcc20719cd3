// Timers and file events of LibeventDispatcher.

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <string>

#include "source/common/event/libevent_dispatcher.h"
#include "test/common/event/dispatcher_test_fixture.h"

namespace remora::event {
namespace {

using std::chrono::milliseconds;
using test::DispatcherTest;
using Clock = std::chrono::steady_clock;

TEST_F(DispatcherTest, TimerFiresOnceAfterItsDelay) {
  int fired = 0;
  auto start = Clock::now();
  Clock::time_point when;
  TimerPtr timer = dispatcher_.createTimer([&] {
    ++fired;
    when = Clock::now();
  });
  EXPECT_FALSE(timer->enabled());
  timer->enable(milliseconds(50));
  EXPECT_TRUE(timer->enabled());
  TimerPtr stop = exitAfter(milliseconds(150));
  runWithDeadline();
  EXPECT_EQ(fired, 1);
  EXPECT_GE(when - start, milliseconds(45));
  EXPECT_FALSE(timer->enabled());
}

TEST_F(DispatcherTest, ReenablingMovesTheDeadline) {
  Clock::time_point fired_at{};
  int fired = 0;
  TimerPtr timer = dispatcher_.createTimer([&] {
    ++fired;
    fired_at = Clock::now();
    dispatcher_.exit();
  });
  auto start = Clock::now();
  timer->enable(milliseconds(20));
  timer->enable(milliseconds(200));  // later
  runWithDeadline();
  EXPECT_EQ(fired, 1);
  EXPECT_GE(fired_at - start, milliseconds(190));

  start = Clock::now();
  timer->enable(milliseconds(5000));
  timer->enable(milliseconds(10));  // earlier
  runWithDeadline(milliseconds(2000));
  EXPECT_EQ(fired, 2);
  EXPECT_LT(fired_at - start, milliseconds(1000));
}

TEST_F(DispatcherTest, DisableAndDestroyCancel) {
  int fired = 0;
  TimerPtr disabled = dispatcher_.createTimer([&] { ++fired; });
  disabled->enable(milliseconds(10));
  disabled->disable();
  EXPECT_FALSE(disabled->enabled());
  TimerPtr destroyed = dispatcher_.createTimer([&] { ++fired; });
  destroyed->enable(milliseconds(10));
  destroyed.reset();
  TimerPtr stop = exitAfter(milliseconds(100));
  runWithDeadline();
  EXPECT_EQ(fired, 0);
}

TEST_F(DispatcherTest, TimerMayDestroyItselfFromItsCallback) {
  TimerPtr timer;
  timer = dispatcher_.createTimer([&] {
    timer.reset();
    dispatcher_.exit();
  });
  timer->enable(milliseconds(0));
  runWithDeadline();
  EXPECT_EQ(timer, nullptr);
}

class PipeTest : public DispatcherTest {
 protected:
  void SetUp() override { ASSERT_EQ(::pipe2(fds_, O_NONBLOCK | O_CLOEXEC), 0); }
  void TearDown() override {
    ::close(fds_[0]);
    ::close(fds_[1]);
  }
  int fds_[2];
};

TEST_F(PipeTest, ReadReadinessIsLevelTriggeredAndCanBePaused) {
  int calls = 0;
  int exit_at = 3;
  uint32_t last_events = 0;
  FileEventPtr event;
  event = dispatcher_.createFileEvent(
      fds_[0],
      [&](uint32_t events) {
        last_events = events;
        // Leave the byte unread: level-triggered readiness keeps reporting it.
        if (++calls == exit_at) dispatcher_.exit();
      },
      kRead);
  ASSERT_EQ(::write(fds_[1], "x", 1), 1);
  runWithDeadline();
  EXPECT_EQ(calls, 3);
  EXPECT_EQ(last_events, static_cast<uint32_t>(kRead));

  event->setEnabled(0);
  TimerPtr stop = exitAfter(milliseconds(50));
  runWithDeadline();
  EXPECT_EQ(calls, 3) << "a paused event must not report readiness";

  exit_at = 6;
  event->setEnabled(kRead);
  runWithDeadline();
  EXPECT_EQ(calls, 3 + 3);
}

TEST_F(PipeTest, ReadFiresOnlyOnceDataArrives) {
  std::string got;
  FileEventPtr event = dispatcher_.createFileEvent(
      fds_[0],
      [&](uint32_t events) {
        EXPECT_TRUE(events & kRead);
        char buf[16];
        ssize_t n = ::read(fds_[0], buf, sizeof(buf));
        if (n > 0) got.append(buf, n);
        if (got == "ping") dispatcher_.exit();
      },
      kRead);
  TimerPtr writer = dispatcher_.createTimer([&] {
    EXPECT_TRUE(got.empty());
    ASSERT_EQ(::write(fds_[1], "ping", 4), 4);
  });
  writer->enable(milliseconds(20));
  runWithDeadline();
  EXPECT_EQ(got, "ping");
}

TEST_F(PipeTest, WriteReadinessAndDestroyStops) {
  int calls = 0;
  FileEventPtr event = dispatcher_.createFileEvent(
      fds_[1],
      [&](uint32_t events) {
        EXPECT_EQ(events, static_cast<uint32_t>(kWrite));
        ++calls;
        event.reset();  // destroying stops notifications, even from inside the callback
      },
      kWrite);
  TimerPtr stop = exitAfter(milliseconds(50));
  runWithDeadline();
  EXPECT_EQ(calls, 1);
  // The descriptor stays open.
  EXPECT_EQ(::write(fds_[1], "y", 1), 1);
}

}  // namespace
}  // namespace remora::event
