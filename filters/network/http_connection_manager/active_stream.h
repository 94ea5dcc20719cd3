#pragma once

// One request/response exchange inside a connection manager: decoded by the codec, passed
// through the decoder filters (the router last), answered through the encoder filters.

#include <list>
#include <memory>
#include <vector>

#include "filters/network/http_connection_manager/hcm_config.h"
#include "source/common/buffer/owned_buffer.h"
#include "source/interface/http/codec.h"
#include "source/interface/http/filter.h"
#include "source/interface/http/stream_info.h"

namespace remora::filters::hcm {

class ConnectionManager;

class ActiveStream : public http::StreamDecoder,
                     public http::StreamCallbacks,
                     public http::StreamDecoderFilterCallbacks,
                     public http::StreamEncoderFilterCallbacks,
                     public http::FilterChainFactoryCallbacks,
                     public event::DeferredDeletable {
 public:
  ActiveStream(ConnectionManager& parent, http::ResponseEncoder& encoder, uint64_t id);
  ~ActiveStream() override;

  // http::StreamDecoder (from the downstream codec)
  void decodeHeaders(std::unique_ptr<http::HeaderMap> headers, bool end_stream) override;
  void decodeData(buffer::Instance& data, bool end_stream) override;
  void decodeTrailers(std::unique_ptr<http::HeaderMap> trailers) override;

  // http::StreamCallbacks (downstream stream)
  void onResetStream(http::StreamResetReason reason, std::string_view details) override;
  void onAboveWriteBufferHighWatermark() override;
  void onBelowWriteBufferLowWatermark() override;

  // http::StreamFilterCallbacks
  network::Connection& connection() override;
  event::Dispatcher& dispatcher() override;
  server::WorkerContext& worker() override;
  const router::RouteEntry* route() override;
  void clearRouteCache() override { route_cached_ = false; }
  http::StreamInfo& streamInfo() override { return info_; }
  uint64_t streamId() const override { return id_; }
  http::Protocol downstreamProtocol() const override;
  uint64_t random() override;

  // http::StreamDecoderFilterCallbacks
  void continueDecoding() override;
  void sendLocalReply(uint32_t status, std::string_view body, std::string_view details,
                      http::ResponseFlag flag) override;
  void encodeHeaders(std::unique_ptr<http::HeaderMap> headers, bool end_stream) override;
  void encodeData(buffer::Instance& data, bool end_stream) override;
  void encodeTrailers(std::unique_ptr<http::HeaderMap> trailers) override;
  void encodeInformationalHeaders(std::unique_ptr<http::HeaderMap> headers) override;
  void onDecoderFilterAboveWriteBufferHighWatermark() override;
  void onDecoderFilterBelowWriteBufferLowWatermark() override;
  void addDownstreamWatermarkCallbacks(http::DownstreamWatermarkCallbacks& callbacks) override;
  void removeDownstreamWatermarkCallbacks(http::DownstreamWatermarkCallbacks& callbacks) override;
  void resetStream() override;

  // http::StreamEncoderFilterCallbacks
  void continueEncoding() override;

  // http::FilterChainFactoryCallbacks
  void addDecoderFilter(std::shared_ptr<http::StreamDecoderFilter> filter) override;
  void addEncoderFilter(std::shared_ptr<http::StreamEncoderFilter> filter) override;

  // The connection closed under the stream.
  void onConnectionClosed();
  std::list<std::unique_ptr<ActiveStream>>::iterator self;

 private:
  // A step of the request or response waiting to pass through the filters.
  struct Frame {
    enum class Kind { kHeaders, kData, kTrailers } kind;
    buffer::OwnedBuffer data;
    bool end_stream = false;
  };

  // Normalizes the request (request_normalizer.h); false when it was answered instead.
  bool normalizeRequestHeaders();
  void runDecoderFilters(size_t first, Frame& frame);
  void drainDecoderQueue();
  void runEncoderFilters(size_t first, Frame& frame);
  void drainEncoderQueue();
  void writeToCodec(Frame& frame);
  void resetIdleTimer();
  void finish();

  ConnectionManager& parent_;
  http::ResponseEncoder& encoder_;
  const uint64_t id_;
  http::StreamInfo info_;
  std::unique_ptr<http::HeaderMap> request_headers_;
  std::unique_ptr<http::HeaderMap> request_trailers_;
  std::unique_ptr<http::HeaderMap> response_headers_;
  std::unique_ptr<http::HeaderMap> response_trailers_;
  std::vector<std::shared_ptr<http::StreamDecoderFilter>> decoder_filters_;
  std::vector<std::shared_ptr<http::StreamEncoderFilter>> encoder_filters_;
  // Iteration paused at a filter that returned kStop; later steps wait in the queue.
  std::optional<size_t> decoder_paused_at_;
  std::optional<Frame> decoder_paused_frame_;
  std::list<Frame> decoder_queue_;  // a list: an empty std::deque allocates
  std::optional<size_t> encoder_paused_at_;
  std::optional<Frame> encoder_paused_frame_;
  std::list<Frame> encoder_queue_;
  std::vector<http::DownstreamWatermarkCallbacks*> watermark_callbacks_;
  const router::RouteEntry* route_ = nullptr;
  // The table route_ points into: held for the stream's life (discovered routes may change).
  std::shared_ptr<const router::RouteTable> routes_;
  bool route_cached_ = false;
  // The request asks for a tunnel the codec may open (see removeHopByHopHeaders).
  bool upgrade_ = false;
  bool request_complete_ = false;
  bool response_started_ = false;  // headers went to the codec
  bool response_complete_ = false;
  bool destroyed_ = false;
  event::TimerPtr idle_timer_;
};

}  // namespace remora::filters::hcm
