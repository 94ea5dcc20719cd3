#pragma once

// HTTP filters: per-stream objects the connection manager runs over a request (decoder
// filters, in config order, the router last) and its response (encoder filters, in reverse
// order). Each filter may pass a step on (kContinue) or hold it (kStop) and resume later with
// continueDecoding()/continueEncoding(). All calls happen on the stream's worker thread.

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "source/interface/buffer/buffer.h"
#include "source/interface/event/dispatcher.h"
#include "source/interface/http/codec.h"
#include "source/interface/http/header_map.h"
#include "source/interface/http/stream_info.h"
#include "source/interface/network/connection.h"

namespace remora::router {
class RouteEntry;
}
namespace remora::server {
class WorkerContext;
}

namespace remora::http {

enum class FilterStatus {
  kContinue,  // pass this step to the next filter
  kStop,      // hold it; the filter calls continueDecoding()/continueEncoding() later, or answers
};

// Told by the connection manager when the downstream cannot take more response bytes.
class DownstreamWatermarkCallbacks {
 public:
  virtual ~DownstreamWatermarkCallbacks() = default;
  virtual void onAboveWriteBufferHighWatermark() = 0;
  virtual void onBelowWriteBufferLowWatermark() = 0;
};

class StreamFilterCallbacks {
 public:
  virtual ~StreamFilterCallbacks() = default;
  virtual network::Connection& connection() = 0;
  virtual event::Dispatcher& dispatcher() = 0;
  virtual server::WorkerContext& worker() = 0;
  // The route chosen for the request (null: none matched). Cached until clearRouteCache().
  virtual const router::RouteEntry* route() = 0;
  virtual void clearRouteCache() = 0;
  virtual StreamInfo& streamInfo() = 0;
  virtual uint64_t streamId() const = 0;
  // HTTP/1.0, HTTP/1.1 or HTTP/2 on the downstream connection.
  virtual Protocol downstreamProtocol() const = 0;
  // Uniform random bits from the worker's generator (weighted choices, sampling).
  virtual uint64_t random() = 0;
};

class StreamDecoderFilterCallbacks : public StreamFilterCallbacks {
 public:
  // Resumes the request after this filter returned kStop.
  virtual void continueDecoding() = 0;
  // Answers the request here (the remaining decoder filters are skipped; encoder filters run).
  // `details` names the reason for logs ("route_not_found"); `flag` is added to the stream's
  // response flags.
  virtual void sendLocalReply(uint32_t status, std::string_view body, std::string_view details,
                              ResponseFlag flag) = 0;
  // The response, from the filter that produces it (the router), into the encoder filters.
  virtual void encodeHeaders(std::unique_ptr<HeaderMap> headers, bool end_stream) = 0;
  virtual void encodeData(buffer::Instance& data, bool end_stream) = 0;
  virtual void encodeTrailers(std::unique_ptr<HeaderMap> trailers) = 0;
  virtual void encodeInformationalHeaders(std::unique_ptr<HeaderMap> headers) = 0;
  // Flow control from the upstream side: pause or resume reading the request body.
  virtual void onDecoderFilterAboveWriteBufferHighWatermark() = 0;
  virtual void onDecoderFilterBelowWriteBufferLowWatermark() = 0;
  // Flow control from the downstream side: told when the client falls behind.
  virtual void addDownstreamWatermarkCallbacks(DownstreamWatermarkCallbacks& callbacks) = 0;
  virtual void removeDownstreamWatermarkCallbacks(DownstreamWatermarkCallbacks& callbacks) = 0;
  // Abandons the stream (downstream reset); the filter chain is destroyed afterwards.
  virtual void resetStream() = 0;
};

class StreamEncoderFilterCallbacks : public StreamFilterCallbacks {
 public:
  virtual void continueEncoding() = 0;
};

class StreamDecoderFilter {
 public:
  virtual ~StreamDecoderFilter() = default;
  virtual void setDecoderFilterCallbacks(StreamDecoderFilterCallbacks& callbacks) = 0;
  virtual FilterStatus decodeHeaders(HeaderMap& headers, bool end_stream) = 0;
  // kStop on data: the connection manager keeps the bytes for this filter (bounded by the
  // buffer limit, beyond which the request fails with 413).
  virtual FilterStatus decodeData(buffer::Instance& data, bool end_stream) = 0;
  virtual FilterStatus decodeTrailers(HeaderMap& trailers) = 0;
  // The stream is over (complete or reset); release upstream resources, cancel timers.
  virtual void onDestroy() = 0;
};

class StreamEncoderFilter {
 public:
  virtual ~StreamEncoderFilter() = default;
  virtual void setEncoderFilterCallbacks(StreamEncoderFilterCallbacks& callbacks) = 0;
  virtual FilterStatus encodeHeaders(HeaderMap& headers, bool end_stream) = 0;
  virtual FilterStatus encodeData(buffer::Instance& data, bool end_stream) = 0;
  virtual FilterStatus encodeTrailers(HeaderMap& trailers) = 0;
  virtual void onDestroy() = 0;
};

// Adds a filter's instances to a new stream.
class FilterChainFactoryCallbacks {
 public:
  virtual ~FilterChainFactoryCallbacks() = default;
  virtual void addDecoderFilter(std::shared_ptr<StreamDecoderFilter> filter) = 0;
  virtual void addEncoderFilter(std::shared_ptr<StreamEncoderFilter> filter) = 0;
};

// Made once from config (main thread); called per stream on workers.
using FilterFactoryCb = std::function<void(FilterChainFactoryCallbacks& callbacks)>;

}  // namespace remora::http
