#include "source/common/router/token_bucket.h"

#include <algorithm>

namespace remora::router {

TokenBucket::TokenBucket(uint32_t max_tokens, uint32_t tokens_per_fill,
                         std::chrono::milliseconds interval)
    : max_tokens_(max_tokens),
      tokens_per_fill_(tokens_per_fill),
      interval_(std::max(interval, std::chrono::milliseconds(1))),
      tokens_(max_tokens) {}

TokenBucket::Result TokenBucket::consume(TimePoint now) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (!started_) {
    started_ = true;
    last_fill_ = now;
  }
  // Whole intervals passed since the last fill each add a fill; the remainder carries over.
  auto fills = (now - last_fill_) / interval_;
  if (fills > 0) {
    uint64_t added = static_cast<uint64_t>(fills) * tokens_per_fill_;
    tokens_ = static_cast<uint32_t>(std::min<uint64_t>(max_tokens_, tokens_ + added));
    last_fill_ += fills * interval_;
  }
  Result result;
  result.allowed = tokens_ > 0;
  if (result.allowed) --tokens_;
  result.remaining = tokens_;
  result.reset =
      std::chrono::duration_cast<std::chrono::milliseconds>(last_fill_ + interval_ - now);
  return result;
}

}  // namespace remora::router
