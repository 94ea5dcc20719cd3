#include "filters/network/http_connection_manager/active_stream.h"

#include <strings.h>

#include "filters/network/http_connection_manager/client_cert_header.h"
#include "filters/network/http_connection_manager/connection_manager.h"
#include "filters/network/http_connection_manager/proxy_headers.h"
#include "filters/network/http_connection_manager/request_normalizer.h"
#include "source/common/access_log/access_log_format.h"
#include "source/common/access_log/access_log_writer.h"
#include "source/common/common/logger.h"
#include "source/common/router/route_table.h"

namespace remora::filters::hcm {

ActiveStream::ActiveStream(ConnectionManager& parent, http::ResponseEncoder& encoder, uint64_t id)
    : parent_(parent), encoder_(encoder), id_(id) {
  info_.start_time = std::chrono::system_clock::now();
  info_.start_monotonic = std::chrono::steady_clock::now();
  info_.downstream_remote = parent_.connection().remoteAddress();
  if (const auto* ssl = parent_.connection().ssl()) {
    info_.downstream_peer_principal = ssl->peer_principal;
  }
  encoder_.stream().addCallbacks(*this);
  if (auto* active = parent_.config().stats.requests_active) active->inc();
  for (const auto& factory : parent_.config().filter_factories) factory(*this);
  if (parent_.config().stream_idle_timeout.count() > 0) {
    idle_timer_ = parent_.worker().dispatcher().createTimer([this] {
      info_.setFlag(http::ResponseFlag::kStreamIdleTimeout);
      if (!response_started_) {
        sendLocalReply(request_complete_ ? 504 : 408, "stream timeout", "stream_idle_timeout",
                       http::ResponseFlag::kStreamIdleTimeout);
      } else {
        resetStream();
      }
    });
    resetIdleTimer();
  }
}

ActiveStream::~ActiveStream() = default;

void ActiveStream::resetIdleTimer() {
  if (idle_timer_) idle_timer_->enable(parent_.config().stream_idle_timeout);
}

void ActiveStream::addDecoderFilter(std::shared_ptr<http::StreamDecoderFilter> filter) {
  filter->setDecoderFilterCallbacks(*this);
  decoder_filters_.push_back(std::move(filter));
}

void ActiveStream::addEncoderFilter(std::shared_ptr<http::StreamEncoderFilter> filter) {
  filter->setEncoderFilterCallbacks(*this);
  // Encoder filters run in reverse order of configuration.
  encoder_filters_.insert(encoder_filters_.begin(), std::move(filter));
}

network::Connection& ActiveStream::connection() { return parent_.connection(); }
http::Protocol ActiveStream::downstreamProtocol() const { return parent_.protocol(); }
uint64_t ActiveStream::random() { return parent_.random(); }
event::Dispatcher& ActiveStream::dispatcher() { return parent_.worker().dispatcher(); }
server::WorkerContext& ActiveStream::worker() { return parent_.worker(); }

const router::RouteEntry* ActiveStream::route() {
  if (!route_cached_) {
    route_cached_ = true;
    if (!routes_) {
      const auto& config = parent_.config();
      routes_ = config.rds ? config.rds->current() : config.routes;
    }
    route_ =
        routes_ && request_headers_ ? routes_->match(*request_headers_, parent_.random()) : nullptr;
  }
  return route_;
}

void ActiveStream::decodeHeaders(std::unique_ptr<http::HeaderMap> headers, bool end_stream) {
  parent_.onRequestHeadersComplete();
  resetIdleTimer();
  request_headers_ = std::move(headers);
  request_complete_ = end_stream;
  if (!normalizeRequestHeaders()) return;
  auto& h = *request_headers_;
  if (h.authority().empty() && parent_.protocol() != http::Protocol::kHttp10) {
    sendLocalReply(400, "missing host header", "missing_host_header",
                   http::ResponseFlag::kDownstreamProtocolError);
    return;
  }
  if (auto expect = h.get("expect")) {
    // Like Envoy: the proxy says "100 Continue" itself (the client starts sending at once)
    // and does not pass the expectation upstream.
    if (expect->size() == 12 && strncasecmp(expect->data(), "100-continue", 12) == 0) {
      http::HeaderMap continue_headers;
      continue_headers.add(":status", "100");
      encoder_.encodeInformationalHeaders(continue_headers);
      h.remove("expect");
    }
  }
  if (h.method() == "CONNECT") {
    // No CONNECT tunnels (as Envoy without a CONNECT upgrade config): refused before any filter
    // or upstream sees it; on HTTP/1.1 what follows is parsed as the next request.
    sendLocalReply(403, "CONNECT is not supported", "connect_not_supported",
                   http::ResponseFlag::kNone);
    return;
  }
  // The HTTP/1.1 codec keeps the Upgrade header only on requests it may tunnel (an allowed
  // protocol, no body; HTTP/2 refuses the header), and opens the tunnel only on a 101.
  upgrade_ = isUpgradeRequest(h);
  removeHopByHopHeaders(h, upgrade_);
  // Headers only the mesh may set: x-remora-* (internal), and x-forwarded-client-cert as
  // configured (by default removed; on inbound, pilot has it set from the verified peer).
  h.removeIf([](std::string_view name, std::string_view) { return name.starts_with("x-remora-"); });
  applyClientCertHeader(h, parent_.connection().ssl(), parent_.config().client_cert);
  std::string_view scheme = h.scheme().empty() ? "http" : h.scheme();
  addForwardingHeaders(h, parent_.connection().remoteAddress(), scheme,
                       parent_.config().generate_request_id);
  if (decoder_filters_.empty()) {
    sendLocalReply(404, "no filters", "no_filters", http::ResponseFlag::kNoRouteFound);
    return;
  }
  Frame frame{Frame::Kind::kHeaders, {}, end_stream};
  runDecoderFilters(0, frame);
}

bool ActiveStream::normalizeRequestHeaders() {
  const auto& config = parent_.config();
  NormalizationVerdict verdict = normalizeRequest(*request_headers_, config.path_normalization);
  switch (verdict.kind) {
    case NormalizationVerdict::Kind::kContinue:
      return true;
    case NormalizationVerdict::Kind::kRedirect: {
      REMORA_LOG(debug, "[C%lu] escaped slashes: redirect to the normalized path",
                 parent_.connection().id());
      if (auto* counter = config.stats.rq_redirected_with_normalized_path) counter->inc();
      info_.response_code_details = "path_normalization_redirect";
      auto headers = std::make_unique<http::HeaderMap>();
      headers->add(":status", "307");
      headers->add("location", verdict.location);
      encodeHeaders(std::move(headers), true);
      return false;
    }
    case NormalizationVerdict::Kind::kReject:
      break;
  }
  // The offending value is not logged: it may hold control bytes.
  std::string reason(http::normalizationErrorName(verdict.error));
  REMORA_LOG(debug, "[C%lu] request refused by normalization: %s", parent_.connection().id(),
             reason.c_str());
  if (auto* counter = config.stats.rq_rejected[static_cast<size_t>(verdict.error)]) counter->inc();
  sendLocalReply(400, "Bad Request: " + reason, "request_normalization_failed{" + reason + "}",
                 http::ResponseFlag::kDownstreamProtocolError);
  return false;
}

void ActiveStream::decodeData(buffer::Instance& data, bool end_stream) {
  resetIdleTimer();
  info_.bytes_received += data.length();
  if (end_stream) request_complete_ = true;
  if (response_complete_) {
    data.drain(data.length());
    return;
  }
  Frame frame{Frame::Kind::kData, {}, end_stream};
  frame.data.move(data);
  if (decoder_paused_at_) {
    decoder_queue_.push_back(std::move(frame));
    return;
  }
  runDecoderFilters(0, frame);
}

void ActiveStream::decodeTrailers(std::unique_ptr<http::HeaderMap> trailers) {
  resetIdleTimer();
  request_complete_ = true;
  request_trailers_ = std::move(trailers);
  if (response_complete_) return;
  Frame frame{Frame::Kind::kTrailers, {}, true};
  if (decoder_paused_at_) {
    decoder_queue_.push_back(std::move(frame));
    return;
  }
  runDecoderFilters(0, frame);
}

void ActiveStream::runDecoderFilters(size_t first, Frame& frame) {
  for (size_t i = first; i < decoder_filters_.size(); ++i) {
    if (response_complete_ || destroyed_) return;
    auto& filter = *decoder_filters_[i];
    http::FilterStatus status;
    switch (frame.kind) {
      case Frame::Kind::kHeaders:
        status = filter.decodeHeaders(*request_headers_, frame.end_stream);
        break;
      case Frame::Kind::kData:
        status = filter.decodeData(frame.data, frame.end_stream);
        break;
      case Frame::Kind::kTrailers:
        status = filter.decodeTrailers(*request_trailers_);
        break;
    }
    if (status == http::FilterStatus::kStop) {
      if (i + 1 < decoder_filters_.size()) {
        decoder_paused_at_ = i;
        decoder_paused_frame_ = std::move(frame);
      }
      return;
    }
  }
}

void ActiveStream::continueDecoding() {
  if (!decoder_paused_at_ || destroyed_) return;
  size_t next = *decoder_paused_at_ + 1;
  Frame frame = std::move(*decoder_paused_frame_);
  decoder_paused_at_.reset();
  decoder_paused_frame_.reset();
  runDecoderFilters(next, frame);
  drainDecoderQueue();
}

void ActiveStream::drainDecoderQueue() {
  while (!decoder_paused_at_ && !decoder_queue_.empty() && !destroyed_) {
    Frame frame = std::move(decoder_queue_.front());
    decoder_queue_.pop_front();
    runDecoderFilters(0, frame);
  }
}

void ActiveStream::sendLocalReply(uint32_t status, std::string_view body, std::string_view details,
                                  http::ResponseFlag flag) {
  if (flag != http::ResponseFlag::kNone) info_.setFlag(flag);
  info_.response_code_details = std::string(details);
  if (response_started_) {
    // Headers already went out: the only way to signal failure is a reset.
    resetStream();
    return;
  }
  auto headers = std::make_unique<http::HeaderMap>();
  headers->add(":status", std::to_string(status));
  // A breaker or limit refused the request: say so, as Envoy's x-envoy-overloaded does, so
  // clients and callers' retry logic can tell overload from failure.
  if (flag == http::ResponseFlag::kUpstreamOverflow) headers->add("x-remora-overloaded", "true");
  if (!body.empty()) {
    headers->add("content-type", "text/plain");
    headers->add("content-length", std::to_string(body.size()));
  }
  if (body.empty()) {
    encodeHeaders(std::move(headers), true);
    return;
  }
  encodeHeaders(std::move(headers), false);
  buffer::OwnedBuffer data(body);
  encodeData(data, true);
}

void ActiveStream::encodeInformationalHeaders(std::unique_ptr<http::HeaderMap> headers) {
  if (response_started_ || destroyed_) return;
  encoder_.encodeInformationalHeaders(*headers);
}

void ActiveStream::encodeHeaders(std::unique_ptr<http::HeaderMap> headers, bool end_stream) {
  if (destroyed_ || response_headers_) return;
  resetIdleTimer();
  response_headers_ = std::move(headers);
  info_.response_code = response_headers_->status();
  removeHopByHopHeaders(*response_headers_, upgrade_ && info_.response_code == 101);
  Frame frame{Frame::Kind::kHeaders, {}, end_stream};
  if (encoder_paused_at_) {
    encoder_queue_.push_back(std::move(frame));
    return;
  }
  runEncoderFilters(0, frame);
}

void ActiveStream::encodeData(buffer::Instance& data, bool end_stream) {
  if (destroyed_) return;
  resetIdleTimer();
  Frame frame{Frame::Kind::kData, {}, end_stream};
  frame.data.move(data);
  if (encoder_paused_at_) {
    encoder_queue_.push_back(std::move(frame));
    return;
  }
  runEncoderFilters(0, frame);
}

void ActiveStream::encodeTrailers(std::unique_ptr<http::HeaderMap> trailers) {
  if (destroyed_) return;
  response_trailers_ = std::move(trailers);
  Frame frame{Frame::Kind::kTrailers, {}, true};
  if (encoder_paused_at_) {
    encoder_queue_.push_back(std::move(frame));
    return;
  }
  runEncoderFilters(0, frame);
}

void ActiveStream::runEncoderFilters(size_t first, Frame& frame) {
  for (size_t i = first; i < encoder_filters_.size(); ++i) {
    if (destroyed_) return;
    auto& filter = *encoder_filters_[i];
    http::FilterStatus status;
    switch (frame.kind) {
      case Frame::Kind::kHeaders:
        status = filter.encodeHeaders(*response_headers_, frame.end_stream);
        break;
      case Frame::Kind::kData:
        status = filter.encodeData(frame.data, frame.end_stream);
        break;
      case Frame::Kind::kTrailers:
        status = filter.encodeTrailers(*response_trailers_);
        break;
    }
    if (status == http::FilterStatus::kStop) {
      encoder_paused_at_ = i;
      encoder_paused_frame_ = std::move(frame);
      return;
    }
  }
  writeToCodec(frame);
}

void ActiveStream::continueEncoding() {
  if (!encoder_paused_at_ || destroyed_) return;
  size_t next = *encoder_paused_at_ + 1;
  Frame frame = std::move(*encoder_paused_frame_);
  encoder_paused_at_.reset();
  encoder_paused_frame_.reset();
  runEncoderFilters(next, frame);
  drainEncoderQueue();
}

void ActiveStream::drainEncoderQueue() {
  while (!encoder_paused_at_ && !encoder_queue_.empty() && !destroyed_) {
    Frame frame = std::move(encoder_queue_.front());
    encoder_queue_.pop_front();
    runEncoderFilters(0, frame);
  }
}

void ActiveStream::writeToCodec(Frame& frame) {
  if (response_complete_ || destroyed_) return;
  bool last = frame.kind == Frame::Kind::kTrailers || frame.end_stream;
  // After its last frame the codec may retire the stream: stop listening to it first.
  if (last) encoder_.stream().removeCallbacks(*this);
  switch (frame.kind) {
    case Frame::Kind::kHeaders:
      response_started_ = true;
      response_complete_ = frame.end_stream;
      encoder_.encodeHeaders(*response_headers_, frame.end_stream);
      break;
    case Frame::Kind::kData:
      info_.bytes_sent += frame.data.length();
      response_complete_ = frame.end_stream;
      encoder_.encodeData(frame.data, frame.end_stream);
      break;
    case Frame::Kind::kTrailers:
      response_complete_ = true;
      encoder_.encodeTrailers(*response_trailers_);
      break;
  }
  if (response_complete_) finish();
}

void ActiveStream::finish() {
  if (destroyed_) return;
  destroyed_ = true;
  info_.end_monotonic = std::chrono::steady_clock::now();
  idle_timer_.reset();
  if (!response_complete_) encoder_.stream().removeCallbacks(*this);
  for (auto& filter : decoder_filters_) filter->onDestroy();
  for (auto& filter : encoder_filters_) filter->onDestroy();
  const auto& stats = parent_.config().stats;
  if (stats.requests_active) stats.requests_active->dec();
  if (info_.response_code != 0) {
    if (auto* counter = stats.forStatus(info_.response_code)) counter->inc();
    if (const auto* by_source = parent_.sourceStats()) {
      by_source->forStatus(info_.response_code)->inc();
    }
  }
  if (info_.response_flags != 0) {
    for (const auto& [flag, counter] : stats.response_flags) {
      if (info_.response_flags & flag) counter->inc();
    }
  }
  if (const auto& log = parent_.config().access_log) {
    std::string line = parent_.config().access_log_json
                           ? access_log::formatJson(request_headers_.get(), response_headers_.get(),
                                                    info_, parent_.protocol())
                           : access_log::formatText(request_headers_.get(), response_headers_.get(),
                                                    info_, parent_.protocol());
    log->write(parent_.worker().dispatcher(), line);
  }
  if (!request_complete_ && parent_.protocol() == http::Protocol::kHttp2) {
    // Answered before the request ended: tell the client to stop sending (RST_STREAM), and the
    // codec to stop delivering to this stream.
    encoder_.stream().resetStream(response_complete_ ? http::StreamResetReason::kResponseComplete
                                                     : http::StreamResetReason::kLocalReset);
  }
  if (!request_complete_ && !upgrade_ && parent_.protocol() != http::Protocol::kHttp2) {
    // HTTP/1.1 answered before the request body ended: the rest of it cannot be skipped
    // reliably, so the connection ends after the response.
    parent_.connection().close(network::ConnectionCloseType::kFlushWrite);
  }
  parent_.onStreamComplete(*this);
}

void ActiveStream::onResetStream(http::StreamResetReason, std::string_view details) {
  // The downstream went away or broke the protocol: nothing more can be sent.
  if (info_.response_code_details.empty()) info_.response_code_details = std::string(details);
  info_.setFlag(http::ResponseFlag::kDownstreamConnectionTermination);
  finish();
}

void ActiveStream::resetStream() {
  if (destroyed_) return;
  info_.setFlag(http::ResponseFlag::kLocalReset);
  // resetStream() calls our onResetStream(), which finishes the stream.
  encoder_.stream().resetStream(http::StreamResetReason::kLocalReset);
  finish();
}

void ActiveStream::onConnectionClosed() {
  if (!response_complete_) info_.setFlag(http::ResponseFlag::kDownstreamConnectionTermination);
  finish();
}

void ActiveStream::onAboveWriteBufferHighWatermark() {
  for (auto* cb : watermark_callbacks_) cb->onAboveWriteBufferHighWatermark();
}

void ActiveStream::onBelowWriteBufferLowWatermark() {
  for (auto* cb : watermark_callbacks_) cb->onBelowWriteBufferLowWatermark();
}

void ActiveStream::onDecoderFilterAboveWriteBufferHighWatermark() {
  encoder_.stream().readDisable(true);
}

void ActiveStream::onDecoderFilterBelowWriteBufferLowWatermark() {
  encoder_.stream().readDisable(false);
}

void ActiveStream::addDownstreamWatermarkCallbacks(http::DownstreamWatermarkCallbacks& callbacks) {
  watermark_callbacks_.push_back(&callbacks);
}

void ActiveStream::removeDownstreamWatermarkCallbacks(
    http::DownstreamWatermarkCallbacks& callbacks) {
  std::erase(watermark_callbacks_, &callbacks);
}

}  // namespace remora::filters::hcm
