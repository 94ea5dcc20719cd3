#pragma once

// A mirrored copy of a request, sent to a shadow cluster with "-shadow" appended to its
// authority; the response is read and thrown away. It never slows the real request: it takes
// copies of the request's pieces as they pass, buffers a bounded amount while its stream is
// being set up, and gives up (resets) rather than push back when its upstream is slow or the
// buffer would overflow. It outlives the router when it must (the real response may finish
// first) and deletes itself when done or out of time.

#include <chrono>
#include <memory>

#include "source/common/buffer/owned_buffer.h"
#include "source/interface/event/dispatcher.h"
#include "source/interface/http/conn_pool.h"
#include "source/interface/upstream/cluster.h"

namespace remora::filters::router {

class ShadowRequest : public http::StreamDecoder,
                      public http::StreamCallbacks,
                      public http::PoolCallbacks,
                      public event::DeferredDeletable {
 public:
  // Starts the copy; the returned handle stays valid until the owner calls detach().
  static ShadowRequest* start(event::Dispatcher& dispatcher, upstream::ThreadLocalCluster& cluster,
                              http::Protocol downstream_protocol, const http::HeaderMap& headers,
                              bool end_stream, std::chrono::milliseconds timeout);

  // The next pieces of the request (copied; `data` is not changed).
  void sendData(const buffer::Instance& data, bool end_stream);
  void sendTrailers(const http::HeaderMap& trailers);
  // The owner is done with it: no more pieces will come; it finishes on its own.
  void detach();

  // http::PoolCallbacks
  void onPoolReady(http::RequestEncoder& encoder,
                   const upstream::HostConstSharedPtr& host) override;
  void onPoolFailure(http::PoolFailureReason, std::string_view,
                     const upstream::HostConstSharedPtr&) override;
  // http::StreamDecoder: the shadow's response, discarded.
  void decodeHeaders(std::unique_ptr<http::HeaderMap>, bool end_stream) override;
  void decodeData(buffer::Instance& data, bool end_stream) override;
  void decodeTrailers(std::unique_ptr<http::HeaderMap>) override;
  // http::StreamCallbacks
  void onResetStream(http::StreamResetReason, std::string_view) override { finish(); }
  void onAboveWriteBufferHighWatermark() override { abandon(); }

 private:
  ShadowRequest(event::Dispatcher& dispatcher, std::unique_ptr<http::HeaderMap> headers,
                bool end_stream);
  // Stops sending (resets the stream or cancels the pool request) and finishes.
  void abandon();
  void finish();
  void maybeDelete();

  event::Dispatcher& dispatcher_;
  std::unique_ptr<http::HeaderMap> headers_;
  buffer::OwnedBuffer pending_body_;
  std::unique_ptr<http::HeaderMap> pending_trailers_;
  bool request_end_ = false;
  http::PendingRequest* pool_request_ = nullptr;
  http::RequestEncoder* encoder_ = nullptr;
  event::TimerPtr timeout_;
  bool finished_ = false;
  bool detached_ = false;
  bool deleting_ = false;
};

}  // namespace remora::filters::router
