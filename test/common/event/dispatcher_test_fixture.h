#pragma once

// A test fixture owning one LibeventDispatcher, with a loop runner that fails the test when the
// loop does not finish in time.

#include <gtest/gtest.h>

#include <chrono>

#include "source/common/event/libevent_dispatcher.h"

namespace remora::event::test {

class DispatcherTest : public testing::Test {
 protected:
  // Runs the loop until a callback calls dispatcher_.exit(); fails the test if that takes
  // longer than `timeout`.
  void runWithDeadline(std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
    bool expired = false;
    TimerPtr deadline = dispatcher_.createTimer([&] {
      expired = true;
      dispatcher_.exit();
    });
    deadline->enable(timeout);
    dispatcher_.run();
    EXPECT_FALSE(expired) << "the loop did not finish within " << timeout.count() << " ms";
  }
  // Exits the loop after `delay`, for checking that something did not happen meanwhile.
  TimerPtr exitAfter(std::chrono::milliseconds delay) {
    TimerPtr t = dispatcher_.createTimer([this] { dispatcher_.exit(); });
    t->enable(delay);
    return t;
  }

  LibeventDispatcher dispatcher_{"test"};
};

}  // namespace remora::event::test
