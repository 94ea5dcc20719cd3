#pragma once

// One request's upstream half: waits for a stream from the pool, then relays the upstream
// response (and its resets and flow control) to the router.

#include <chrono>
#include "source/interface/event/dispatcher.h"

#include "source/interface/http/codec.h"
#include "source/interface/http/conn_pool.h"

namespace remora::filters::router {

class RouterFilter;

class UpstreamRequest : public http::StreamDecoder,
                        public http::StreamCallbacks,
                        public http::PoolCallbacks,
                        public event::DeferredDeletable {
 public:
  explicit UpstreamRequest(RouterFilter& parent) : parent_(parent) {}
  ~UpstreamRequest() override;

  void start(http::ConnectionPool& pool);
  // Abandons the upstream side: cancels a pending pool request or resets the stream.
  void reset();
  // The try ran out of time: counted against the host (outlier detection), then reset.
  void timeout();
  http::RequestEncoder* encoder() { return encoder_; }
  bool responseComplete() const { return response_complete_; }

  // http::PoolCallbacks
  void onPoolReady(http::RequestEncoder& encoder,
                   const upstream::HostConstSharedPtr& host) override;
  void onPoolFailure(http::PoolFailureReason reason, std::string_view details,
                     const upstream::HostConstSharedPtr& host) override;

  // http::StreamDecoder (the upstream response)
  void decodeInformationalHeaders(std::unique_ptr<http::HeaderMap> headers) override;
  void decodeHeaders(std::unique_ptr<http::HeaderMap> headers, bool end_stream) override;
  void decodeData(buffer::Instance& data, bool end_stream) override;
  void decodeTrailers(std::unique_ptr<http::HeaderMap> trailers) override;

  // http::StreamCallbacks (the upstream stream)
  void onResetStream(http::StreamResetReason reason, std::string_view details) override;
  void onAboveWriteBufferHighWatermark() override;
  void onBelowWriteBufferLowWatermark() override;

 private:
  // The request no longer loads its host: counts it out of the host's requests in flight and,
  // when it completed, reports its latency to the cluster's balancer.
  void releaseHost(bool completed);

  RouterFilter& parent_;
  upstream::HostConstSharedPtr host_;
  std::chrono::steady_clock::time_point started_;
  http::PendingRequest* pending_ = nullptr;
  http::RequestEncoder* encoder_ = nullptr;
  bool response_complete_ = false;
  bool reset_ = false;
};

}  // namespace remora::filters::router
