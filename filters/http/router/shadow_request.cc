#include "filters/http/router/shadow_request.h"

namespace remora::filters::router {
namespace {
// What a shadow holds while its stream is set up; more and the copy is given up.
constexpr size_t kShadowBufferLimit = 256 * 1024;
}  // namespace

ShadowRequest::ShadowRequest(event::Dispatcher& dispatcher,
                             std::unique_ptr<http::HeaderMap> headers, bool end_stream)
    : dispatcher_(dispatcher), headers_(std::move(headers)), request_end_(end_stream) {}

ShadowRequest* ShadowRequest::start(event::Dispatcher& dispatcher,
                                    upstream::ThreadLocalCluster& cluster,
                                    http::Protocol downstream_protocol,
                                    const http::HeaderMap& headers, bool end_stream,
                                    std::chrono::milliseconds timeout) {
  auto copy = std::make_unique<http::HeaderMap>(headers);
  std::string authority(copy->authority());
  // "host:port" keeps its port after the suffix, as Envoy does.
  size_t colon = authority.rfind(':');
  if (colon != std::string::npos && authority.find(']') == std::string::npos) {
    authority.insert(colon, "-shadow");
  } else {
    authority += "-shadow";
  }
  copy->set(":authority", authority);
  auto* shadow = new ShadowRequest(dispatcher, std::move(copy), end_stream);
  if (timeout.count() > 0) {
    shadow->timeout_ = dispatcher.createTimer([shadow] { shadow->abandon(); });
    shadow->timeout_->enable(timeout);
  }
  auto host = cluster.chooseHost(nullptr);
  if (host == nullptr) {
    shadow->finish();
    return shadow;
  }
  cluster.info().onEvent(upstream::ClusterInfo::Event::kMirrorRequest);
  shadow->pool_request_ =
      cluster.httpConnPool(host, downstream_protocol).newStream(*shadow, *shadow);
  return shadow;
}

void ShadowRequest::sendData(const buffer::Instance& data, bool end_stream) {
  if (finished_) return;
  request_end_ = end_stream;
  if (encoder_) {
    buffer::OwnedBuffer copy;
    copy.add(data);
    encoder_->encodeData(copy, end_stream);
    return;
  }
  if (pending_body_.length() + data.length() > kShadowBufferLimit) {
    abandon();
    return;
  }
  pending_body_.add(data);
}

void ShadowRequest::sendTrailers(const http::HeaderMap& trailers) {
  if (finished_) return;
  request_end_ = true;
  if (encoder_) {
    encoder_->encodeTrailers(trailers);
  } else {
    pending_trailers_ = std::make_unique<http::HeaderMap>(trailers);
  }
}

void ShadowRequest::detach() {
  detached_ = true;
  // A copy whose request never ended cannot be completed: give it up.
  if (!request_end_) abandon();
  maybeDelete();
}

void ShadowRequest::onPoolReady(http::RequestEncoder& encoder,
                                const upstream::HostConstSharedPtr&) {
  pool_request_ = nullptr;
  encoder_ = &encoder;
  encoder_->stream().addCallbacks(*this);
  bool body_follows = pending_body_.length() > 0 || pending_trailers_ || !request_end_;
  encoder_->encodeHeaders(*headers_, !body_follows);
  if (pending_body_.length() > 0 || (request_end_ && !pending_trailers_ && body_follows)) {
    encoder_->encodeData(pending_body_, request_end_ && !pending_trailers_);
  }
  if (pending_trailers_) encoder_->encodeTrailers(*pending_trailers_);
}

void ShadowRequest::onPoolFailure(http::PoolFailureReason, std::string_view,
                                  const upstream::HostConstSharedPtr&) {
  pool_request_ = nullptr;
  finish();
}

void ShadowRequest::decodeHeaders(std::unique_ptr<http::HeaderMap>, bool end_stream) {
  if (end_stream) finish();
}

void ShadowRequest::decodeData(buffer::Instance& data, bool end_stream) {
  data.drain(data.length());
  if (end_stream) finish();
}

void ShadowRequest::decodeTrailers(std::unique_ptr<http::HeaderMap>) { finish(); }

void ShadowRequest::abandon() {
  if (pool_request_) {
    pool_request_->cancel();
    pool_request_ = nullptr;
  }
  if (encoder_ && !finished_) {
    encoder_->stream().removeCallbacks(*this);
    encoder_->stream().resetStream(http::StreamResetReason::kLocalReset);
  }
  finish();
}

void ShadowRequest::finish() {
  finished_ = true;
  encoder_ = nullptr;
  if (timeout_) timeout_->disable();
  maybeDelete();
}

void ShadowRequest::maybeDelete() {
  if (!finished_ || !detached_ || deleting_) return;
  deleting_ = true;
  // After this event: the codec or the pool may be calling us right now.
  dispatcher_.deferredDelete(std::unique_ptr<ShadowRequest>(this));
}

}  // namespace remora::filters::router
