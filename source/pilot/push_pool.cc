#include "source/pilot/push_pool.h"

#include <algorithm>

namespace remora::pilot {

PushPool::PushPool(SnapshotCache& cache, size_t workers, std::chrono::milliseconds period,
                   size_t push_budget_bytes)
    : cache_(cache), period_(period), push_budget_bytes_(push_budget_bytes) {
  for (size_t i = 0; i < std::max<size_t>(1, workers); ++i)
    workers_.emplace_back([this] { work(); });
  watcher_ = std::thread([this] { watch(); });
}

PushPool::~PushPool() {
  {
    std::lock_guard<std::mutex> guard(lock_);
    stopping_ = true;
  }
  ready_.notify_all();
  cache_.wake();
  watcher_.join();
  for (auto& worker : workers_) worker.join();
  // Streams still queued go now, while the pool is whole (a stream releases its bytes here).
  std::deque<std::shared_ptr<Stream>> queue;
  {
    std::lock_guard<std::mutex> guard(lock_);
    waiting_.clear();
    queue.swap(queue_);
  }
}

void PushPool::add(const std::shared_ptr<Stream>& stream) {
  std::lock_guard<std::mutex> guard(lock_);
  streams_.push_back(stream);
  scheduleLocked(stream);
}

void PushPool::schedule(const std::shared_ptr<Stream>& stream) {
  std::lock_guard<std::mutex> guard(lock_);
  scheduleLocked(stream);
}

bool PushPool::mayPush(const std::shared_ptr<Stream>& stream) {
  std::lock_guard<std::mutex> guard(lock_);
  // Its turn: nobody is ahead of it (or it is first in line) and the bytes allow.
  bool first_in_line = true;
  for (const auto& waiting : waiting_) {
    auto ahead = waiting.lock();
    if (!ahead) continue;
    first_in_line = ahead == stream;
    break;
  }
  if (first_in_line && queued_bytes_ < push_budget_bytes_) {
    if (!waiting_.empty() && waiting_.front().lock() == stream) waiting_.pop_front();
    return true;
  }
  bool listed = false;
  for (const auto& waiting : waiting_) listed = listed || waiting.lock() == stream;
  if (!listed) waiting_.push_back(stream);
  return false;
}

void PushPool::queued(size_t bytes) {
  std::lock_guard<std::mutex> guard(lock_);
  queued_bytes_ += bytes;
}

void PushPool::released(size_t bytes) {
  std::lock_guard<std::mutex> guard(lock_);
  queued_bytes_ -= std::min(bytes, queued_bytes_);
  // The first in line (the gone ones dropped) gets its turn when the bytes allow.
  while (!waiting_.empty() && !waiting_.front().lock()) waiting_.pop_front();
  if (!waiting_.empty() && queued_bytes_ < push_budget_bytes_) {
    scheduleLocked(waiting_.front().lock());
  }
}

size_t PushPool::queuedBytes() const {
  std::lock_guard<std::mutex> guard(lock_);
  return queued_bytes_;
}

void PushPool::scheduleLocked(const std::shared_ptr<Stream>& stream) {
  if (stream->running_) {
    stream->again_ = true;
    return;
  }
  if (stream->queued_) return;
  stream->queued_ = true;
  queue_.push_back(stream);
  ready_.notify_one();
}

void PushPool::work() {
  std::unique_lock<std::mutex> guard(lock_);
  while (true) {
    ready_.wait(guard, [&] { return stopping_ || !queue_.empty(); });
    if (stopping_) return;
    std::shared_ptr<Stream> stream = std::move(queue_.front());
    queue_.pop_front();
    stream->queued_ = false;
    stream->running_ = true;
    do {
      stream->again_ = false;
      guard.unlock();
      stream->run();
      guard.lock();
    } while (stream->again_ && !stopping_);
    stream->running_ = false;
    // The last holder may be this worker: the stream goes (and unregisters) outside the lock.
    guard.unlock();
    stream.reset();
    guard.lock();
  }
}

void PushPool::watch() {
  uint64_t seen = cache_.generation();
  while (true) {
    cache_.wait(seen, period_);
    seen = cache_.generation();
    std::lock_guard<std::mutex> guard(lock_);
    if (stopping_) return;
    // Schedules the live streams and drops the gone ones, in place.
    size_t kept = 0;
    for (size_t i = 0; i < streams_.size(); ++i) {
      auto stream = streams_[i].lock();
      if (!stream) continue;
      scheduleLocked(stream);
      if (kept != i) streams_[kept] = std::move(streams_[i]);  // not onto itself: that empties it
      ++kept;
    }
    streams_.resize(kept);
  }
}

}  // namespace remora::pilot
