#pragma once

// A few threads that run every discovery stream's pushes, instead of a thread (or two) per
// stream: 1,000 proxies are served by gRPC's callback threads, which only queue requests and
// write responses, and these workers, which compute what to send.
//
// A stream is run when it is scheduled: after one of its requests arrived, when the cache has
// a new generation (or wake() is called), and every `period` (so identity rechecks happen
// even when nothing changes). A stream runs on one worker at a time; scheduling it while it
// runs runs it once more afterwards.
//
// Pushes are throttled by bytes: a proxy's first configuration is the whole mesh (about 15 MB
// at 10,000 services), a VirtualService change sends every proxy its route configurations (11
// MB each), and 1,000 proxies would otherwise have pilot hold gigabytes of responses that
// gRPC has not sent yet. A stream asks before computing a push (mayPush); while the bytes
// of responses not yet answered by their proxies (queued() until released()) exceed the
// limit, it waits in line and is scheduled again as answers come in.
//
// Thread-safe. Streams are held weakly: one that is gone is dropped.

#include <chrono>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "source/pilot/snapshot_cache.h"

namespace remora::pilot {

class PushPool {
 public:
  class Stream {
   public:
    virtual ~Stream() = default;
    // Runs on a worker: handles what the stream received and pushes what it must.
    virtual void run() = 0;

   private:
    friend class PushPool;
    bool queued_ = false;   // under the pool's lock
    bool running_ = false;  // under the pool's lock
    bool again_ = false;    // under the pool's lock
  };

  static constexpr size_t kDefaultPushBudgetBytes = 64u << 20;

  PushPool(SnapshotCache& cache, size_t workers,
           std::chrono::milliseconds period = std::chrono::milliseconds(500),
           size_t push_budget_bytes = kDefaultPushBudgetBytes);
  // Stops the workers (a stream being run is finished first).
  ~PushPool();

  // Starts running `stream` on the pool's schedule, and runs it once soon.
  void add(const std::shared_ptr<Stream>& stream);
  // Runs `stream` soon.
  void schedule(const std::shared_ptr<Stream>& stream);

  // Whether `stream` may compute a push now; if not, it is scheduled again once enough queued
  // bytes are answered. Every stream gets its turn in order of asking.
  bool mayPush(const std::shared_ptr<Stream>& stream);
  // Bytes of responses computed (queued) and answered or dropped (released).
  void queued(size_t bytes);
  void released(size_t bytes);
  size_t queuedBytes() const;

 private:
  void work();
  // Waits for generations (or the period) and schedules every stream.
  void watch();
  void scheduleLocked(const std::shared_ptr<Stream>& stream);

  SnapshotCache& cache_;
  const std::chrono::milliseconds period_;
  mutable std::mutex lock_;
  std::condition_variable ready_;
  const size_t push_budget_bytes_;
  size_t queued_bytes_ = 0;                    // under lock_
  std::deque<std::weak_ptr<Stream>> waiting_;  // for their turn to push, in order
  bool stopping_ = false;
  std::deque<std::shared_ptr<Stream>> queue_;
  std::vector<std::weak_ptr<Stream>> streams_;
  std::vector<std::thread> workers_;
  std::thread watcher_;
};

}  // namespace remora::pilot
