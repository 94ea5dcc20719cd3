#pragma once

// Dispatcher backed by one libevent loop. Owned by the thread that runs it.

#include <event2/event.h>
#include <event2/event_struct.h>

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "source/interface/event/dispatcher.h"

namespace remora::event {

class RealTimeSource : public TimeSource {
 public:
  std::chrono::steady_clock::time_point monotonicTime() const override {
    return std::chrono::steady_clock::now();
  }
};

class LibeventDispatcher : public Dispatcher {
 public:
  explicit LibeventDispatcher(std::string name);
  ~LibeventDispatcher() override;

  std::string_view name() const override { return name_; }
  void post(std::function<void()> cb) override;
  TimerPtr createTimer(TimerCb cb) override;
  SchedulableCallbackPtr createSchedulableCallback(std::function<void()> cb) override;
  FileEventPtr createFileEvent(int fd, FileReadyCb cb, uint32_t events) override;
  void deferredDelete(DeferredDeletablePtr object) override;
  void run() override;
  void exit() override;
  bool isThreadSafe() const override;
  const TimeSource& timeSource() const override { return time_source_; }

  // For libevent-based components that need the raw loop (evhttp for admin).
  event_base* base() { return base_; }

 private:
  void runPostedCallbacks();
  void clearDeferredDeleteList();

  std::string name_;
  event_base* base_;
  RealTimeSource time_source_;
  std::thread::id run_thread_id_;
  std::atomic<bool> running_{false};

  // Posted callbacks: the only cross-thread state, so the only lock in a dispatcher.
  std::mutex post_lock_;
  std::vector<std::function<void()>> posted_;
  ::event* post_event_;

  std::vector<DeferredDeletablePtr> to_delete_;
  ::event* deferred_delete_event_;
};

}  // namespace remora::event
