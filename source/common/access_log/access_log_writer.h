#pragma once

// Appends access-log lines to a file without ever blocking a worker: each worker thread
// collects lines in its own batch (no lock per request) and hands full or aged batches to a
// background thread, which does the write(2)s. If the file cannot keep up, batches beyond a
// bound are dropped and counted rather than growing memory.

#include <atomic>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "source/interface/event/dispatcher.h"

namespace remora::access_log {

class AccessLogWriter : public std::enable_shared_from_this<AccessLogWriter> {
 public:
  // Opens `path` for appending ("/dev/stdout" and "/dev/stderr" included). Returns null and
  // sets `error` when it cannot be opened.
  static std::shared_ptr<AccessLogWriter> open(const std::string& path, std::string& error);
  ~AccessLogWriter();

  // Queues one line (without its newline) from a worker thread; flushed within ~100 ms.
  void write(event::Dispatcher& dispatcher, std::string_view line);
  // Lines dropped because the writer fell too far behind.
  uint64_t dropped() const { return dropped_.load(std::memory_order_relaxed); }
  // Blocks until everything handed over so far is written (tests, shutdown).
  void flush();

 private:
  struct ThreadBatch;
  AccessLogWriter(int fd, std::string path);
  void handOff(std::string batch);
  void run();

  const uint64_t id_;
  int fd_;
  std::string path_;
  std::mutex lock_;
  std::condition_variable wake_;
  std::condition_variable drained_;
  std::deque<std::string> queue_;
  size_t queued_bytes_ = 0;
  bool writing_ = false;
  bool stopping_ = false;
  std::atomic<uint64_t> dropped_{0};
  std::thread thread_;
};

}  // namespace remora::access_log
