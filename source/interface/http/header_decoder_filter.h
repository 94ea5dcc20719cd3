#pragma once

// A decoder filter that decides on the request headers alone (authorization, rate limiting):
// it keeps its callbacks and lets body and trailers through untouched. Subclasses implement
// decodeHeaders() only.

#include "source/interface/http/filter.h"

namespace remora::http {

class HeaderDecoderFilter : public StreamDecoderFilter {
 public:
  void setDecoderFilterCallbacks(StreamDecoderFilterCallbacks& callbacks) override {
    callbacks_ = &callbacks;
  }
  // After a local reply in decodeHeaders the connection manager passes nothing more down, so
  // body and trailers simply flow.
  FilterStatus decodeData(buffer::Instance&, bool) override { return FilterStatus::kContinue; }
  FilterStatus decodeTrailers(HeaderMap&) override { return FilterStatus::kContinue; }
  void onDestroy() override {}

 protected:
  StreamDecoderFilterCallbacks* callbacks_ = nullptr;
};

}  // namespace remora::http
