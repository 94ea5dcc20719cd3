#pragma once

// `remora.filters.http.fault`: injects the faults a route asks for (Istio's HTTPRoute.fault).
// A delay holds the request for a fixed time before passing it on; an abort answers at once
// with an HTTP status, or for gRPC with HTTP 200 and a grpc-status. Each applies to its
// percentage of requests, drawn from the worker's generator. Delay first, then abort.

#include "source/interface/http/filter.h"
#include "source/interface/stats/stats.h"

namespace remora::filters::fault {

struct FaultStats {
  stats::Counter* delays = nullptr;
  stats::Counter* aborts = nullptr;
};

class FaultFilter : public http::StreamDecoderFilter {
 public:
  explicit FaultFilter(const FaultStats& stats) : stats_(stats) {}
  void setDecoderFilterCallbacks(http::StreamDecoderFilterCallbacks& callbacks) override {
    callbacks_ = &callbacks;
  }
  http::FilterStatus decodeHeaders(http::HeaderMap& headers, bool end_stream) override;
  http::FilterStatus decodeData(buffer::Instance&, bool) override {
    return delaying_ ? http::FilterStatus::kStop : http::FilterStatus::kContinue;
  }
  http::FilterStatus decodeTrailers(http::HeaderMap&) override {
    return delaying_ ? http::FilterStatus::kStop : http::FilterStatus::kContinue;
  }
  void onDestroy() override { timer_.reset(); }

 private:
  // True: answered (the abort); false: carry on.
  bool maybeAbort();
  bool chosen(uint32_t per_million);

  const FaultStats& stats_;
  http::StreamDecoderFilterCallbacks* callbacks_ = nullptr;
  event::TimerPtr timer_;
  bool delaying_ = false;
};

}  // namespace remora::filters::fault
