#pragma once

// Keeps a log line a peer can trigger at will (an accept failure, a handshake that fails or
// times out) from flooding the log: at most one line per interval, and the line that is
// written says how many were left out since the previous one.
//
// Usage:
//   static log::LogRateLimiter limiter(std::chrono::seconds(10));
//   REMORA_LOG_RATE_LIMITED(limiter, warn, "accept failed: %s", strerror(errno));

#include <chrono>
#include <cstdint>
#include <functional>
#include <mutex>

#include "source/common/common/logger.h"

namespace remora::log {

class LogRateLimiter {
 public:
  using Clock = std::function<std::chrono::steady_clock::time_point()>;

  // `clock` defaults to std::chrono::steady_clock; tests pass their own.
  explicit LogRateLimiter(std::chrono::milliseconds interval, Clock clock = {});

  // One occurrence. True when it should be written (the first one, or the first after the
  // interval passed since the last written one); then `suppressed` is how many were dropped
  // in between. Any thread.
  bool allow(uint64_t& suppressed);

  // Occurrences dropped since the last written one. Any thread.
  uint64_t suppressed() const;

 private:
  const std::chrono::milliseconds interval_;
  const Clock clock_;
  mutable std::mutex mutex_;
  bool written_any_ = false;
  std::chrono::steady_clock::time_point last_written_;
  uint64_t suppressed_ = 0;
};

// Writes the line when `limiter` allows it, adding "(N similar lines suppressed)" when some
// were dropped. Prefer the macro, which skips everything when the level is off.
void writeLimited(LogRateLimiter& limiter, Level level, const char* format, ...)
    __attribute__((format(printf, 3, 4)));

}  // namespace remora::log

#define REMORA_LOG_RATE_LIMITED(LIMITER, LEVEL, ...)                                    \
  do {                                                                                  \
    if (::remora::log::enabled(::remora::log::Level::LEVEL)) {                          \
      ::remora::log::writeLimited((LIMITER), ::remora::log::Level::LEVEL, __VA_ARGS__); \
    }                                                                                   \
  } while (0)
