#include "filters/http/router/upstream_request.h"

#include "filters/http/router/router.h"

namespace remora::filters::router {

UpstreamRequest::~UpstreamRequest() { reset(); }

void UpstreamRequest::releaseHost(bool completed) {
  if (!host_) return;
  host_->active_requests.fetch_sub(1, std::memory_order_relaxed);
  if (completed) parent_.onUpstreamHostDone(*host_, std::chrono::steady_clock::now() - started_);
  host_.reset();
}

void UpstreamRequest::start(http::ConnectionPool& pool) { pending_ = pool.newStream(*this, *this); }

void UpstreamRequest::timeout() {
  if (host_) parent_.onUpstreamHostResult(*host_, 0);
  reset();
}

void UpstreamRequest::reset() {
  releaseHost(false);
  if (reset_) return;
  reset_ = true;
  if (pending_) {
    pending_->cancel();
    pending_ = nullptr;
  }
  if (encoder_ && !response_complete_) {
    encoder_->stream().removeCallbacks(*this);
    encoder_->stream().resetStream(http::StreamResetReason::kLocalReset);
  }
  encoder_ = nullptr;
}

void UpstreamRequest::onPoolReady(http::RequestEncoder& encoder,
                                  const upstream::HostConstSharedPtr& host) {
  pending_ = nullptr;
  encoder_ = &encoder;
  encoder_->stream().addCallbacks(*this);
  host_ = host;
  host_->active_requests.fetch_add(1, std::memory_order_relaxed);
  started_ = std::chrono::steady_clock::now();
  parent_.callbacks().streamInfo().upstream_host = host->address;
  parent_.onUpstreamReady(encoder);
}

void UpstreamRequest::onPoolFailure(http::PoolFailureReason reason, std::string_view details,
                                    const upstream::HostConstSharedPtr& host) {
  pending_ = nullptr;
  parent_.callbacks().streamInfo().upstream_host = host->address;
  if (reason == http::PoolFailureReason::kConnectionFailure) {
    parent_.onUpstreamHostResult(*host, 0);
  }
  if (reason == http::PoolFailureReason::kOverflow) {
    parent_.onUpstreamFailure(503, http::ResponseFlag::kUpstreamOverflow, details);
  } else {
    parent_.onUpstreamFailure(503, http::ResponseFlag::kUpstreamConnectionFailure, details);
  }
}

void UpstreamRequest::decodeInformationalHeaders(std::unique_ptr<http::HeaderMap> headers) {
  parent_.onUpstreamInformational(std::move(headers));
}

void UpstreamRequest::decodeHeaders(std::unique_ptr<http::HeaderMap> headers, bool end_stream) {
  if (host_) parent_.onUpstreamHostResult(*host_, headers->status());
  if (end_stream) {
    response_complete_ = true;
    releaseHost(true);
  }
  parent_.onUpstreamHeaders(std::move(headers), end_stream);
}

void UpstreamRequest::decodeData(buffer::Instance& data, bool end_stream) {
  if (end_stream) {
    response_complete_ = true;
    releaseHost(true);
  }
  parent_.onUpstreamData(data, end_stream);
}

void UpstreamRequest::decodeTrailers(std::unique_ptr<http::HeaderMap> trailers) {
  response_complete_ = true;
  releaseHost(true);
  parent_.onUpstreamTrailers(std::move(trailers));
}

void UpstreamRequest::onResetStream(http::StreamResetReason reason, std::string_view details) {
  if (host_ && !response_complete_) parent_.onUpstreamHostResult(*host_, 0);
  releaseHost(false);
  encoder_ = nullptr;
  reset_ = true;
  switch (reason) {
    case http::StreamResetReason::kRefusedStream:
      // Refused before the server processed it (HTTP/2 REFUSED_STREAM, or beyond a GOAWAY):
      // safe to send again.
      parent_.onUpstreamRefused(details);
      break;
    case http::StreamResetReason::kConnectionFailure:
      parent_.onUpstreamFailure(503, http::ResponseFlag::kUpstreamConnectionFailure, details);
      break;
    case http::StreamResetReason::kOverflow:
      parent_.onUpstreamFailure(503, http::ResponseFlag::kUpstreamOverflow, details);
      break;
    case http::StreamResetReason::kProtocolError:
      parent_.onUpstreamFailure(502, http::ResponseFlag::kUpstreamProtocolError, details);
      break;
    default:
      // As Envoy: a reset before any response is 503 (so "retriable-status-codes: 503" covers
      // it), a response that breaks the protocol 502.
      parent_.onUpstreamFailure(503, http::ResponseFlag::kUpstreamRemoteReset, details);
      break;
  }
}

void UpstreamRequest::onAboveWriteBufferHighWatermark() {
  parent_.callbacks().onDecoderFilterAboveWriteBufferHighWatermark();
}

void UpstreamRequest::onBelowWriteBufferLowWatermark() {
  parent_.callbacks().onDecoderFilterBelowWriteBufferLowWatermark();
}

}  // namespace remora::filters::router
