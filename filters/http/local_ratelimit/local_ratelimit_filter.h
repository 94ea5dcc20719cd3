#pragma once

// `remora.filters.http.local_ratelimit`: takes a token from the route's (else the virtual
// host's) bucket for each request; without one the request gets 429 at once. Every answer
// from a limited route says where the client stands: x-ratelimit-limit, x-ratelimit-remaining
// and x-ratelimit-reset (seconds to the next fill).

#include <string>

#include "source/interface/http/header_decoder_filter.h"
#include "source/interface/stats/stats.h"

namespace remora::filters::local_ratelimit {

struct RateLimitStats {
  stats::Counter* limited = nullptr;
  stats::Counter* allowed = nullptr;
};

class LocalRateLimitFilter : public http::HeaderDecoderFilter {
 public:
  explicit LocalRateLimitFilter(const RateLimitStats& stats) : stats_(stats) {}
  http::FilterStatus decodeHeaders(http::HeaderMap& headers, bool end_stream) override;

 private:
  const RateLimitStats& stats_;
};

}  // namespace remora::filters::local_ratelimit
