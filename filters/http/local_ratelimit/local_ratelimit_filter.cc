#include "filters/http/local_ratelimit/local_ratelimit_filter.h"

#include "source/common/buffer/owned_buffer.h"
#include "source/common/router/route_entry.h"

namespace remora::filters::local_ratelimit {

http::FilterStatus LocalRateLimitFilter::decodeHeaders(http::HeaderMap&, bool) {
  const auto* route = callbacks_->route();
  router::TokenBucket* bucket = route ? route->rateLimit() : nullptr;
  if (bucket == nullptr) return http::FilterStatus::kContinue;
  auto result = bucket->consume(callbacks_->dispatcher().timeSource().monotonicTime());
  if (result.allowed) {
    stats_.allowed->inc();
    return http::FilterStatus::kContinue;
  }
  stats_.limited->inc();
  auto& info = callbacks_->streamInfo();
  info.setFlag(http::ResponseFlag::kRateLimited);
  info.response_code_details = "local_rate_limited";
  constexpr std::string_view kBody = "local rate limited";
  auto headers = std::make_unique<http::HeaderMap>();
  headers->add(":status", "429");
  headers->add("content-type", "text/plain");
  headers->add("content-length", std::to_string(kBody.size()));
  headers->add("x-ratelimit-limit", std::to_string(bucket->maxTokens()));
  headers->add("x-ratelimit-remaining", std::to_string(result.remaining));
  // Whole seconds, rounded up, until the next token.
  headers->add("x-ratelimit-reset", std::to_string((result.reset.count() + 999) / 1000));
  callbacks_->encodeHeaders(std::move(headers), false);
  buffer::OwnedBuffer body(kBody);
  callbacks_->encodeData(body, true);
  return http::FilterStatus::kStop;
}

}  // namespace remora::filters::local_ratelimit
