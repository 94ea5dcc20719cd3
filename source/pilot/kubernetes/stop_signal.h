#pragma once

// A stop request shared by a source's threads: waits that end early when stop() is called.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>

namespace remora::pilot::kubernetes {

class StopSignal {
 public:
  // Idempotent; wakes every waiter.
  void stop() {
    {
      std::lock_guard lock(mutex_);
      stopped_.store(true);
    }
    condition_.notify_all();
  }
  bool stopped() const { return stopped_.load(); }
  // Polled by blocking I/O (HttpsClient::get's `cancel`).
  const std::atomic<bool>& flag() const { return stopped_; }

  // Waits `duration`; false when stopped before or during the wait.
  bool waitFor(std::chrono::milliseconds duration) {
    std::unique_lock lock(mutex_);
    return !condition_.wait_for(lock, duration, [&] { return stopped_.load(); });
  }

 private:
  std::atomic<bool> stopped_{false};
  std::mutex mutex_;
  std::condition_variable condition_;
};

}  // namespace remora::pilot::kubernetes
