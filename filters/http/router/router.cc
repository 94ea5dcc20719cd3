#include "filters/http/router/router.h"

#include "filters/http/router/upstream_request.h"
#include "source/common/common/logger.h"
#include "source/common/router/route_table.h"
#include "source/interface/server/worker_context.h"

namespace remora::filters::router {
namespace {
// Request body held while the upstream stream is being set up, before reading pauses.
constexpr size_t kPendingBodyLimit = 1024 * 1024;
}  // namespace

RouterFilter::~RouterFilter() {
  // onDestroy() normally ran cleanup(); the stream may be mid-destruction here, so only our
  // own members are touched.
  timeout_timer_.reset();
  if (upstream_) upstream_->reset();
}

void RouterFilter::setDecoderFilterCallbacks(http::StreamDecoderFilterCallbacks& callbacks) {
  callbacks_ = &callbacks;
}

http::FilterStatus RouterFilter::decodeHeaders(http::HeaderMap& headers, bool end_stream) {
  request_headers_ = &headers;
  request_end_stream_ = end_stream;
  const remora::router::RouteEntry* route = callbacks_->route();
  if (route == nullptr) {
    callbacks_->sendLocalReply(404, "", "route_not_found", http::ResponseFlag::kNoRouteFound);
    return http::FilterStatus::kStop;
  }
  auto& info = callbacks_->streamInfo();
  info.route_name = route->name();
  switch (route->kind()) {
    case remora::router::RouteEntry::Kind::kDirectResponse:
      callbacks_->sendLocalReply(route->directStatus(), route->directBody(), "direct_response",
                                 http::ResponseFlag::kNone);
      return http::FilterStatus::kStop;
    case remora::router::RouteEntry::Kind::kRedirect: {
      auto response = std::make_unique<http::HeaderMap>();
      response->add(":status", std::to_string(route->redirectStatus()));
      response->add("location", route->redirectLocation(headers));
      callbacks_->encodeHeaders(std::move(response), true);
      return http::FilterStatus::kStop;
    }
    case remora::router::RouteEntry::Kind::kCluster:
      break;
  }

  const std::string& cluster_name = route->pickCluster(callbacks_->random());
  info.cluster_name = cluster_name;
  route->applyRequestTransforms(headers);
  if (route->timeout().count() > 0) {
    timeout_timer_ = callbacks_->dispatcher().createTimer([this] { onTimeout(); });
    timeout_timer_->enable(route->timeout());
  }
  callbacks_->addDownstreamWatermarkCallbacks(*this);
  // May answer at once (pool failure); nothing may touch the stream after that.
  startUpstream();
  return http::FilterStatus::kStop;
}

bool RouterFilter::startUpstream() {
  auto* cluster =
      callbacks_->worker().clusterManager().getCluster(callbacks_->streamInfo().cluster_name);
  if (cluster == nullptr) {
    callbacks_->sendLocalReply(503, "no cluster", "cluster_not_found",
                               http::ResponseFlag::kNoClusterFound);
    return false;
  }
  auto host = cluster->chooseHost();
  if (host == nullptr) {
    callbacks_->sendLocalReply(503, "no healthy upstream", "no_healthy_upstream",
                               http::ResponseFlag::kNoHealthyUpstream);
    return false;
  }
  cluster_info_ = &cluster->info();
  upstream_ready_ = false;
  upstream_ = std::make_unique<UpstreamRequest>(*this);
  upstream_->start(cluster->httpConnPool(host, callbacks_->downstreamProtocol()));
  return true;
}

void RouterFilter::onUpstreamRefused(std::string_view details) {
  recordUpstreamEnd();
  if (refused_retries_left_ == 0 || body_sent_ || response_started_) {
    onUpstreamFailure(502, http::ResponseFlag::kUpstreamRemoteReset, details);
    return;
  }
  --refused_retries_left_;
  // The old attempt is inside its own callback: it goes after this event.
  callbacks_->dispatcher().deferredDelete(std::move(upstream_));
  startUpstream();
}

http::FilterStatus RouterFilter::decodeData(buffer::Instance& data, bool end_stream) {
  request_end_stream_ = end_stream;
  if (upstream_ready_ && upstream_ && upstream_->encoder()) {
    body_sent_ = true;
    upstream_->encoder()->encodeData(data, end_stream);
    return http::FilterStatus::kStop;
  }
  pending_body_.move(data);
  if (!above_watermark_ && pending_body_.length() > kPendingBodyLimit) {
    above_watermark_ = true;
    callbacks_->onDecoderFilterAboveWriteBufferHighWatermark();
  }
  return http::FilterStatus::kStop;
}

http::FilterStatus RouterFilter::decodeTrailers(http::HeaderMap& trailers) {
  request_end_stream_ = true;
  if (upstream_ready_ && upstream_ && upstream_->encoder()) {
    upstream_->encoder()->encodeTrailers(trailers);
  } else {
    pending_trailers_ = std::make_unique<http::HeaderMap>(trailers);
  }
  return http::FilterStatus::kStop;
}

void RouterFilter::onUpstreamReady(http::RequestEncoder& encoder) {
  upstream_ready_ = true;
  if (cluster_info_) {
    cluster_info_->onUpstreamRequestStart();
    upstream_start_ = std::chrono::steady_clock::now();
    upstream_counted_ = true;
  }
  bool body_follows = pending_body_.length() > 0 || pending_trailers_ || !request_end_stream_;
  encoder.encodeHeaders(*request_headers_, !body_follows);
  if (pending_body_.length() > 0 || (request_end_stream_ && !pending_trailers_ && body_follows)) {
    body_sent_ = true;
    encoder.encodeData(pending_body_, request_end_stream_ && !pending_trailers_);
  }
  if (pending_trailers_) encoder.encodeTrailers(*pending_trailers_);
  if (above_watermark_) {
    above_watermark_ = false;
    callbacks_->onDecoderFilterBelowWriteBufferLowWatermark();
  }
}

void RouterFilter::recordUpstreamEnd() {
  if (!upstream_counted_) return;
  upstream_counted_ = false;
  cluster_info_->onUpstreamRequestEnd(upstream_status_,
                                      std::chrono::steady_clock::now() - upstream_start_);
}

void RouterFilter::onUpstreamFailure(uint32_t status, http::ResponseFlag flag,
                                     std::string_view details) {
  if (timeout_timer_) timeout_timer_->disable();
  recordUpstreamEnd();
  auto& info = callbacks_->streamInfo();
  if (response_started_) {
    info.setFlag(flag);
    callbacks_->resetStream();
    return;
  }
  std::string body = status == 503 ? "upstream connect error or disconnect/reset before headers"
                                   : "upstream reset or malformed response";
  if (!details.empty()) body += ": " + std::string(details);
  callbacks_->sendLocalReply(status, body, details.empty() ? "upstream_failure" : details, flag);
}

void RouterFilter::onTimeout() {
  recordUpstreamEnd();
  if (upstream_) upstream_->reset();
  if (response_started_) {
    callbacks_->streamInfo().setFlag(http::ResponseFlag::kUpstreamRequestTimeout);
    callbacks_->resetStream();
    return;
  }
  callbacks_->sendLocalReply(504, "upstream request timeout", "upstream_response_timeout",
                             http::ResponseFlag::kUpstreamRequestTimeout);
}

void RouterFilter::onUpstreamInformational(std::unique_ptr<http::HeaderMap> headers) {
  callbacks_->encodeInformationalHeaders(std::move(headers));
}

void RouterFilter::onUpstreamHeaders(std::unique_ptr<http::HeaderMap> headers, bool end_stream) {
  response_started_ = true;
  upstream_status_ = headers->status();
  if (end_stream) recordUpstreamEnd();
  if (end_stream && timeout_timer_) timeout_timer_->disable();
  if (const auto* route = callbacks_->route()) route->applyResponseTransforms(*headers);
  callbacks_->encodeHeaders(std::move(headers), end_stream);
}

void RouterFilter::onUpstreamData(buffer::Instance& data, bool end_stream) {
  if (end_stream) recordUpstreamEnd();
  if (end_stream && timeout_timer_) timeout_timer_->disable();
  callbacks_->encodeData(data, end_stream);
}

void RouterFilter::onUpstreamTrailers(std::unique_ptr<http::HeaderMap> trailers) {
  recordUpstreamEnd();
  if (timeout_timer_) timeout_timer_->disable();
  callbacks_->encodeTrailers(std::move(trailers));
}

void RouterFilter::onAboveWriteBufferHighWatermark() {
  if (upstream_ && upstream_->encoder()) upstream_->encoder()->stream().readDisable(true);
}

void RouterFilter::onBelowWriteBufferLowWatermark() {
  if (upstream_ && upstream_->encoder()) upstream_->encoder()->stream().readDisable(false);
}

void RouterFilter::onDestroy() { cleanup(); }

void RouterFilter::cleanup() {
  recordUpstreamEnd();
  timeout_timer_.reset();
  if (upstream_) {
    callbacks_->removeDownstreamWatermarkCallbacks(*this);
    upstream_->reset();
    // Deferred: this may run inside one of the upstream request's own callbacks.
    callbacks_->dispatcher().deferredDelete(std::move(upstream_));
  }
}

}  // namespace remora::filters::router
