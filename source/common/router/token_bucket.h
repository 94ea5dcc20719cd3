#pragma once

// A token bucket shared by every worker (one per route or virtual host with a rate limit):
// holds up to max_tokens, gains tokens_per_fill every fill_interval, counted lazily from the
// time of each call; a request takes one token. Time comes from the caller.

#include <chrono>
#include <cstdint>
#include <mutex>

namespace remora::router {

class TokenBucket {
 public:
  using TimePoint = std::chrono::steady_clock::time_point;

  TokenBucket(uint32_t max_tokens, uint32_t tokens_per_fill, std::chrono::milliseconds interval);

  struct Result {
    bool allowed = false;
    uint32_t remaining = 0;
    // Until the next fill.
    std::chrono::milliseconds reset{0};
  };
  Result consume(TimePoint now);
  uint32_t maxTokens() const { return max_tokens_; }

 private:
  const uint32_t max_tokens_;
  const uint32_t tokens_per_fill_;
  const std::chrono::milliseconds interval_;
  std::mutex mutex_;
  uint32_t tokens_;
  TimePoint last_fill_{};
  bool started_ = false;
};

}  // namespace remora::router
