#include "source/common/event/libevent_dispatcher.h"

#include <event2/thread.h>

#include <cassert>
#include <cstdlib>

namespace remora::event {
namespace {

// libevent's thread support must be switched on once before any base is created, so that
// event_active() from another thread (post) safely wakes the loop.
void enableLibeventThreads() {
  static const bool enabled = [] { return evthread_use_pthreads() == 0; }();
  if (!enabled) std::abort();
}

timeval toTimeval(std::chrono::milliseconds d) {
  timeval tv;
  tv.tv_sec = d.count() / 1000;
  tv.tv_usec = (d.count() % 1000) * 1000;
  return tv;
}

class LibeventTimer : public Timer {
 public:
  LibeventTimer(event_base* base, TimerCb cb) : cb_(std::move(cb)) {
    event_assign(&ev_, base, -1, 0, &LibeventTimer::onFire, this);
  }
  ~LibeventTimer() override { event_del(&ev_); }
  void enable(std::chrono::milliseconds delay) override {
    timeval tv = toTimeval(delay);
    event_add(&ev_, &tv);
  }
  void disable() override { event_del(&ev_); }
  bool enabled() const override { return event_pending(&ev_, EV_TIMEOUT, nullptr) != 0; }

 private:
  static void onFire(evutil_socket_t, short, void* arg) {
    // The callback may destroy this timer, so copy nothing out of `this` after calling it.
    static_cast<LibeventTimer*>(arg)->cb_();
  }
  TimerCb cb_;
  ::event ev_;
};

class LibeventSchedulableCallback : public SchedulableCallback {
 public:
  LibeventSchedulableCallback(event_base* base, std::function<void()> cb) : cb_(std::move(cb)) {
    event_assign(&ev_, base, -1, 0, &LibeventSchedulableCallback::onFire, this);
  }
  ~LibeventSchedulableCallback() override { event_del(&ev_); }
  void scheduleCallbackCurrentIteration() override {
    if (!enabled()) event_active(&ev_, EV_TIMEOUT, 0);
  }
  bool enabled() const override { return event_pending(&ev_, EV_TIMEOUT, nullptr) != 0; }

 private:
  static void onFire(evutil_socket_t, short, void* arg) {
    static_cast<LibeventSchedulableCallback*>(arg)->cb_();
  }
  std::function<void()> cb_;
  ::event ev_;
};

class LibeventFileEvent : public FileEvent {
 public:
  LibeventFileEvent(event_base* base, int fd, FileReadyCb cb, uint32_t events)
      : base_(base), fd_(fd), cb_(std::move(cb)) {
    setEnabled(events);
  }
  ~LibeventFileEvent() override {
    if (assigned_) event_del(&ev_);
  }
  void setEnabled(uint32_t events) override {
    if (assigned_ && events == enabled_) return;
    if (assigned_) event_del(&ev_);
    enabled_ = events;
    short what = EV_PERSIST;
    if (events & kRead) what |= EV_READ;
    if (events & kWrite) what |= EV_WRITE;
    if (events & kEdge) what |= EV_ET;
    event_assign(&ev_, base_, fd_, what, &LibeventFileEvent::onReady, this);
    assigned_ = true;
    if (events != 0) event_add(&ev_, nullptr);
  }

 private:
  static void onReady(evutil_socket_t, short what, void* arg) {
    uint32_t ready = 0;
    if (what & EV_READ) ready |= kRead;
    if (what & EV_WRITE) ready |= kWrite;
    static_cast<LibeventFileEvent*>(arg)->cb_(ready);
  }
  event_base* base_;
  int fd_;
  FileReadyCb cb_;
  ::event ev_;
  bool assigned_ = false;
  uint32_t enabled_ = 0;
};

}  // namespace

LibeventDispatcher::LibeventDispatcher(std::string name) : name_(std::move(name)) {
  enableLibeventThreads();
  // The changelist folds the del+add pairs of an interest change into one epoll_ctl(MOD),
  // applied just before the next epoll_wait.
  event_config* config = event_config_new();
  event_config_set_flag(config, EVENT_BASE_FLAG_EPOLL_USE_CHANGELIST);
  base_ = event_base_new_with_config(config);
  event_config_free(config);
  if (base_ == nullptr) std::abort();
  post_event_ = event_new(
      base_, -1, 0,
      [](evutil_socket_t, short, void* arg) {
        static_cast<LibeventDispatcher*>(arg)->runPostedCallbacks();
      },
      this);
  deferred_delete_event_ = event_new(
      base_, -1, 0,
      [](evutil_socket_t, short, void* arg) {
        static_cast<LibeventDispatcher*>(arg)->clearDeferredDeleteList();
      },
      this);
}

LibeventDispatcher::~LibeventDispatcher() {
  clearDeferredDeleteList();
  event_free(post_event_);
  event_free(deferred_delete_event_);
  event_base_free(base_);
}

void LibeventDispatcher::post(std::function<void()> cb) {
  bool first;
  {
    std::lock_guard<std::mutex> guard(post_lock_);
    first = posted_.empty();
    posted_.push_back(std::move(cb));
  }
  // A zero timeout rather than event_active(): an event activated while callbacks run would
  // run in the same pass, so a callback that keeps re-posting would starve timers and I/O.
  if (first) {
    timeval zero{0, 0};
    event_add(post_event_, &zero);
  }
}

void LibeventDispatcher::runPostedCallbacks() {
  std::vector<std::function<void()>> callbacks;
  {
    std::lock_guard<std::mutex> guard(post_lock_);
    callbacks.swap(posted_);
  }
  for (auto& cb : callbacks) cb();
}

TimerPtr LibeventDispatcher::createTimer(TimerCb cb) {
  return std::make_unique<LibeventTimer>(base_, std::move(cb));
}

SchedulableCallbackPtr LibeventDispatcher::createSchedulableCallback(std::function<void()> cb) {
  return std::make_unique<LibeventSchedulableCallback>(base_, std::move(cb));
}

FileEventPtr LibeventDispatcher::createFileEvent(int fd, FileReadyCb cb, uint32_t events) {
  return std::make_unique<LibeventFileEvent>(base_, fd, std::move(cb), events);
}

void LibeventDispatcher::deferredDelete(DeferredDeletablePtr object) {
  to_delete_.push_back(std::move(object));
  if (to_delete_.size() == 1) event_active(deferred_delete_event_, EV_TIMEOUT, 0);
}

void LibeventDispatcher::clearDeferredDeleteList() {
  // Destructors may defer more deletions; loop until the list stays empty.
  while (!to_delete_.empty()) {
    std::vector<DeferredDeletablePtr> batch;
    batch.swap(to_delete_);
    batch.clear();
  }
}

void LibeventDispatcher::run() {
  run_thread_id_ = std::this_thread::get_id();
  running_ = true;
  // Runs until exit(); EVLOOP_NO_EXIT_ON_EMPTY keeps an idle worker alive with no events.
  event_base_loop(base_, EVLOOP_NO_EXIT_ON_EMPTY);
  running_ = false;
  runPostedCallbacks();
  clearDeferredDeleteList();
}

void LibeventDispatcher::exit() { event_base_loopexit(base_, nullptr); }

bool LibeventDispatcher::isThreadSafe() const {
  return !running_ || std::this_thread::get_id() == run_thread_id_;
}

}  // namespace remora::event
