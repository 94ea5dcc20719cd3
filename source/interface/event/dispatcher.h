#pragma once

// The event loop abstraction every thread runs: one Dispatcher per thread (the main thread and
// each worker), backed by a libevent loop. Everything a connection does happens on the
// dispatcher of the thread that owns it.

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string_view>

namespace remora::event {

// A one-shot timer. Created by and bound to one Dispatcher; use only on that dispatcher's thread.
// Destroying the timer cancels it.
class Timer {
 public:
  virtual ~Timer() = default;
  // (Re)arms the timer to fire once after `delay`; re-arming an armed timer moves its deadline.
  virtual void enable(std::chrono::milliseconds delay) = 0;
  virtual void disable() = 0;
  virtual bool enabled() const = 0;
};
using TimerPtr = std::unique_ptr<Timer>;
using TimerCb = std::function<void()>;

// A callback run once per scheduling, later in the current loop iteration: after the running
// callback returns, before the loop waits for I/O again. Used to batch work (one write for
// several small ones). Destroying it cancels a pending run.
class SchedulableCallback {
 public:
  virtual ~SchedulableCallback() = default;
  virtual void scheduleCallbackCurrentIteration() = 0;
  virtual bool enabled() const = 0;
};
using SchedulableCallbackPtr = std::unique_ptr<SchedulableCallback>;

// Bit flags of what a file descriptor is ready for.
// kEdge (with kRead / kWrite): told only when new readiness arrives, not while it lasts; for
// readers that peek and wait for more bytes without consuming what is there.
enum FileReady : uint32_t { kRead = 0x1, kWrite = 0x2, kEdge = 0x4 };

// Readiness notifications for one file descriptor (level-triggered unless kEdge). Destroying
// it stops them; it does not close the descriptor.
class FileEvent {
 public:
  virtual ~FileEvent() = default;
  // Which of kRead / kWrite to be told about from now on (0 pauses the event).
  virtual void setEnabled(uint32_t events) = 0;
};
using FileEventPtr = std::unique_ptr<FileEvent>;
using FileReadyCb = std::function<void(uint32_t ready_events)>;

// An object whose destruction must wait until the current event callback has returned,
// because frames further up the stack may still reference it.
class DeferredDeletable {
 public:
  virtual ~DeferredDeletable() = default;
};
using DeferredDeletablePtr = std::unique_ptr<DeferredDeletable>;

// Monotonic clock, injectable so that tests can drive time.
class TimeSource {
 public:
  virtual ~TimeSource() = default;
  virtual std::chrono::steady_clock::time_point monotonicTime() const = 0;
};

class Dispatcher {
 public:
  virtual ~Dispatcher() = default;

  // Name used in logs ("main", "worker_0", ...).
  virtual std::string_view name() const = 0;

  // Runs `cb` on this dispatcher's thread during a later loop iteration. The only method that
  // may be called from any thread. Callbacks posted from one thread run in posting order.
  virtual void post(std::function<void()> cb) = 0;

  // Everything below must be called on this dispatcher's thread.
  virtual TimerPtr createTimer(TimerCb cb) = 0;
  virtual SchedulableCallbackPtr createSchedulableCallback(std::function<void()> cb) = 0;
  virtual FileEventPtr createFileEvent(int fd, FileReadyCb cb, uint32_t events) = 0;

  // Destroys `object` after the current callback returns.
  virtual void deferredDelete(DeferredDeletablePtr object) = 0;

  // Runs the loop until exit() is called (from any thread, via post if needed).
  virtual void run() = 0;
  virtual void exit() = 0;

  // True when called from the thread running this dispatcher's loop.
  virtual bool isThreadSafe() const = 0;

  virtual const TimeSource& timeSource() const = 0;
};
using DispatcherPtr = std::unique_ptr<Dispatcher>;

}  // namespace remora::event
