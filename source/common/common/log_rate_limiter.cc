#include "source/common/common/log_rate_limiter.h"

#include <cinttypes>
#include <cstdarg>
#include <cstdio>

namespace remora::log {

LogRateLimiter::LogRateLimiter(std::chrono::milliseconds interval, Clock clock)
    : interval_(interval),
      clock_(clock ? std::move(clock) : [] { return std::chrono::steady_clock::now(); }) {}

bool LogRateLimiter::allow(uint64_t& suppressed) {
  auto now = clock_();
  std::lock_guard<std::mutex> lock(mutex_);
  if (written_any_ && now - last_written_ < interval_) {
    ++suppressed_;
    return false;
  }
  written_any_ = true;
  last_written_ = now;
  suppressed = suppressed_;
  suppressed_ = 0;
  return true;
}

uint64_t LogRateLimiter::suppressed() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return suppressed_;
}

void writeLimited(LogRateLimiter& limiter, Level level, const char* format, ...) {
  uint64_t suppressed = 0;
  if (!limiter.allow(suppressed)) return;
  char message[1536];
  va_list args;
  va_start(args, format);
  std::vsnprintf(message, sizeof(message), format, args);
  va_end(args);
  if (suppressed == 0) {
    write(level, "%s", message);
  } else {
    write(level, "%s (%" PRIu64 " similar lines suppressed)", message, suppressed);
  }
}

}  // namespace remora::log
