#include "source/common/access_log/access_log_writer.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <unordered_map>

namespace remora::access_log {
namespace {
constexpr size_t kBatchBytes = 16 * 1024;
constexpr std::chrono::milliseconds kBatchAge{100};
// Beyond this much waiting for the disk, batches are dropped (and counted).
constexpr size_t kMaxQueuedBytes = 8 * 1024 * 1024;
std::atomic<uint64_t> g_next_id{1};
}  // namespace

// One worker thread's pending lines for one writer, flushed by size or by a timer.
struct AccessLogWriter::ThreadBatch {
  std::weak_ptr<AccessLogWriter> writer;
  std::string lines;
  event::TimerPtr timer;
  ~ThreadBatch() {
    if (auto w = writer.lock(); w && !lines.empty()) w->handOff(std::move(lines));
  }
};

std::shared_ptr<AccessLogWriter> AccessLogWriter::open(const std::string& path,
                                                       std::string& error) {
  int fd = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) {
    error = "cannot open access log " + path + ": " + std::strerror(errno);
    return nullptr;
  }
  return std::shared_ptr<AccessLogWriter>(new AccessLogWriter(fd, path));
}

AccessLogWriter::AccessLogWriter(int fd, std::string path)
    : id_(g_next_id.fetch_add(1)), fd_(fd), path_(std::move(path)) {
  thread_ = std::thread([this] { run(); });
}

AccessLogWriter::~AccessLogWriter() {
  {
    std::lock_guard<std::mutex> guard(lock_);
    stopping_ = true;
  }
  wake_.notify_one();
  thread_.join();
  ::close(fd_);
}

void AccessLogWriter::write(event::Dispatcher& dispatcher, std::string_view line) {
  // Keyed by writer id, not address: a new writer may reuse a freed one's address.
  thread_local std::unordered_map<uint64_t, ThreadBatch> batches;
  ThreadBatch& batch = batches[id_];
  if (batch.writer.expired()) batch.writer = weak_from_this();
  batch.lines.append(line);
  batch.lines.push_back('\n');
  if (batch.lines.size() >= kBatchBytes) {
    handOff(std::move(batch.lines));
    batch.lines.clear();
    return;
  }
  if (!batch.timer) {
    uint64_t id = id_;
    batch.timer = dispatcher.createTimer([id] {
      auto it = batches.find(id);
      if (it == batches.end()) return;
      if (auto w = it->second.writer.lock(); w && !it->second.lines.empty()) {
        w->handOff(std::move(it->second.lines));
      }
      it->second.lines.clear();
    });
  }
  if (!batch.timer->enabled()) batch.timer->enable(kBatchAge);
}

void AccessLogWriter::handOff(std::string batch) {
  {
    std::lock_guard<std::mutex> guard(lock_);
    if (queued_bytes_ + batch.size() > kMaxQueuedBytes) {
      size_t lines = 0;
      for (char c : batch) lines += c == '\n';
      dropped_.fetch_add(lines, std::memory_order_relaxed);
      return;
    }
    queued_bytes_ += batch.size();
    queue_.push_back(std::move(batch));
  }
  wake_.notify_one();
}

void AccessLogWriter::flush() {
  std::unique_lock<std::mutex> guard(lock_);
  drained_.wait(guard, [this] { return queue_.empty() && !writing_; });
}

void AccessLogWriter::run() {
  std::unique_lock<std::mutex> guard(lock_);
  while (true) {
    wake_.wait(guard, [this] { return stopping_ || !queue_.empty(); });
    if (queue_.empty() && stopping_) return;
    std::string batch = std::move(queue_.front());
    queue_.pop_front();
    queued_bytes_ -= batch.size();
    writing_ = true;
    guard.unlock();
    size_t done = 0;
    while (done < batch.size()) {
      ssize_t n = ::write(fd_, batch.data() + done, batch.size() - done);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;  // disk full or closed pipe: the batch is lost, the proxy goes on
      done += n;
    }
    guard.lock();
    writing_ = false;
    if (queue_.empty()) drained_.notify_all();
  }
}

}  // namespace remora::access_log
