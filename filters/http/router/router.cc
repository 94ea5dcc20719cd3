#include "filters/http/router/router.h"

#include "filters/http/router/shadow_request.h"
#include "filters/http/router/upstream_request.h"
#include "source/common/common/logger.h"
#include "source/common/router/route_table.h"
#include "source/common/upstream/load_balancer_impl.h"
#include "source/interface/server/worker_context.h"

namespace remora::filters::router {
namespace {
// Request body held while the upstream stream is being set up, before reading pauses.
constexpr size_t kPendingBodyLimit = 1024 * 1024;
// Request body kept for replaying to a retry; a longer body turns retries off.
constexpr size_t kReplayLimit = 256 * 1024;
}  // namespace

RouterFilter::~RouterFilter() {
  // onDestroy() normally ran cleanup(); the stream may be mid-destruction here, so only our
  // own members (and the cluster's breaker counts) are touched.
  releaseSlots();
  for (auto* shadow : shadows_) shadow->detach();
  timeout_timer_.reset();
  per_try_timer_.reset();
  retry_timer_.reset();
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
  if (!route->hashPolicies().empty()) computeHashKey(*route, headers);
  if (const auto* policy = route->retryPolicy(); policy && policy->num_retries > 0) {
    retry_state_.emplace(*policy, random_);
  }
  route->applyRequestTransforms(headers);
  for (const auto& mirror : route->mirrorPolicies()) {
    if (callbacks_->random() % 1000000 >= mirror.per_million) continue;
    if (auto* shadow_cluster = callbacks_->worker().clusterManager().getCluster(mirror.cluster)) {
      shadows_.push_back(ShadowRequest::start(callbacks_->dispatcher(), *shadow_cluster,
                                              callbacks_->downstreamProtocol(), headers, end_stream,
                                              route->timeout()));
    }
  }
  if (route->timeout().count() > 0) {
    timeout_timer_ = callbacks_->dispatcher().createTimer([this] { onTimeout(); });
    timeout_timer_->enable(route->timeout());
  }
  callbacks_->addDownstreamWatermarkCallbacks(*this);
  watermark_registered_ = true;
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
  auto host = cluster->chooseHost(this);
  if (host == nullptr) {
    callbacks_->sendLocalReply(503, "no healthy upstream", "no_healthy_upstream",
                               http::ResponseFlag::kNoHealthyUpstream);
    return false;
  }
  cluster_info_ = cluster->sharedInfo();
  if (!cluster_info_->tryAcquireRequest()) {
    callbacks_->sendLocalReply(503, "upstream overflow: max requests", "upstream_overflow",
                               http::ResponseFlag::kUpstreamOverflow);
    return false;
  }
  request_slot_ = true;
  if (retry_state_) tried_hosts_.push_back(host);
  upstream_ready_ = false;
  upstream_ = std::make_unique<UpstreamRequest>(*this);
  upstream_->start(cluster->httpConnPool(host, callbacks_->downstreamProtocol()));
  return true;
}

void RouterFilter::onUpstreamRefused(std::string_view details) {
  recordUpstreamEnd();
  if (refused_retries_left_ == 0 || body_sent_ || response_started_) {
    if (retry_state_ &&
        maybeRetry(retry_state_->retriableOutcome(remora::router::TryOutcome::kRefusedStream))) {
      return;
    }
    onUpstreamFailure(503, http::ResponseFlag::kUpstreamRemoteReset, details);
    return;
  }
  --refused_retries_left_;
  // The old attempt is inside its own callback: it goes after this event.
  callbacks_->dispatcher().deferredDelete(std::move(upstream_));
  startUpstream();
}

http::FilterStatus RouterFilter::decodeData(buffer::Instance& data, bool end_stream) {
  request_end_stream_ = end_stream;
  for (auto* shadow : shadows_) shadow->sendData(data, end_stream);
  if (upstream_ready_ && upstream_ && upstream_->encoder()) {
    sendBody(data, end_stream);
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
  for (auto* shadow : shadows_) shadow->sendTrailers(trailers);
  if (upstream_ready_ && upstream_ && upstream_->encoder()) {
    upstream_->encoder()->encodeTrailers(trailers);
    // Kept for a retry, which sends them again.
    if (retry_state_) pending_trailers_ = std::make_unique<http::HeaderMap>(trailers);
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
  if (retry_state_ && retry_state_->policy().per_try_timeout.count() > 0) {
    if (!per_try_timer_) {
      per_try_timer_ = callbacks_->dispatcher().createTimer([this] { onPerTryTimeout(); });
    }
    per_try_timer_->enable(retry_state_->policy().per_try_timeout);
  }
  bool body_follows = pending_body_.length() > 0 || pending_trailers_ || !request_end_stream_;
  encoder.encodeHeaders(*request_headers_, !body_follows);
  if (pending_body_.length() > 0 || (request_end_stream_ && !pending_trailers_ && body_follows)) {
    sendBody(pending_body_, request_end_stream_ && !pending_trailers_);
  }
  if (pending_trailers_) encoder.encodeTrailers(*pending_trailers_);
  if (above_watermark_) {
    above_watermark_ = false;
    callbacks_->onDecoderFilterBelowWriteBufferLowWatermark();
  }
}

void RouterFilter::sendBody(buffer::Instance& data, bool end_stream) {
  body_sent_ = true;
  if (retry_state_ && replayable_) {
    if (replay_.length() + data.length() > kReplayLimit) {
      replayable_ = false;
      replay_.drain(replay_.length());
    } else {
      replay_.add(data);
    }
  }
  upstream_->encoder()->encodeData(data, end_stream);
}

namespace {

// The value of cookie `name` in the request's Cookie headers.
std::optional<std::string_view> cookieValue(const http::HeaderMap& headers, std::string_view name) {
  for (const auto& [header, value] : headers.entries()) {
    if (header != "cookie") continue;
    std::string_view rest = value;
    while (!rest.empty()) {
      size_t semi = rest.find(';');
      std::string_view pair = rest.substr(0, semi);
      while (!pair.empty() && pair.front() == ' ') pair.remove_prefix(1);
      size_t eq = pair.find('=');
      if (eq != std::string_view::npos && pair.substr(0, eq) == name) return pair.substr(eq + 1);
      rest = semi == std::string_view::npos ? "" : rest.substr(semi + 1);
    }
  }
  return std::nullopt;
}

std::optional<std::string_view> queryValue(std::string_view path, std::string_view name) {
  size_t q = path.find('?');
  if (q == std::string_view::npos) return std::nullopt;
  std::string_view rest = path.substr(q + 1);
  while (!rest.empty()) {
    size_t amp = rest.find('&');
    std::string_view pair = rest.substr(0, amp);
    size_t eq = pair.find('=');
    if (pair.substr(0, eq) == name) {
      return eq == std::string_view::npos ? std::string_view() : pair.substr(eq + 1);
    }
    rest = amp == std::string_view::npos ? "" : rest.substr(amp + 1);
  }
  return std::nullopt;
}

}  // namespace

void RouterFilter::computeHashKey(const remora::router::RouteEntry& route,
                                  const http::HeaderMap& headers) {
  using Kind = remora::router::HashPolicy::Kind;
  for (const auto& policy : route.hashPolicies()) {
    std::optional<uint64_t> hash;
    switch (policy.kind) {
      case Kind::kHeader:
        if (auto value = headers.get(policy.name)) hash = upstream::stableHash(*value);
        break;
      case Kind::kCookie:
        if (auto value = cookieValue(headers, policy.name)) {
          hash = upstream::stableHash(*value);
        } else if (policy.cookie_ttl.count() > 0) {
          // No cookie yet: make one up, stick to wherever it hashes, and hand it to the client.
          char value[17];
          snprintf(value, sizeof(value), "%016llx",
                   static_cast<unsigned long long>(callbacks_->random()));
          hash = upstream::stableHash(value);
          set_cookie_ =
              policy.name + "=" + value + "; Max-Age=" + std::to_string(policy.cookie_ttl.count()) +
              (policy.cookie_path.empty() ? "" : "; Path=" + policy.cookie_path) + "; HttpOnly";
        }
        break;
      case Kind::kSourceIp:
        if (callbacks_->connection().remoteAddress().valid()) {
          hash = upstream::stableHash(callbacks_->connection().remoteAddress().ip());
        }
        break;
      case Kind::kQueryParameter:
        if (auto value = queryValue(headers.path(), policy.name)) {
          hash = upstream::stableHash(*value);
        }
        break;
    }
    if (!hash) continue;
    // Combined as Envoy does: rotate what is there, then mix in the new value.
    hash_key_ = hash_key_ ? ((*hash_key_ << 1) | (*hash_key_ >> 63)) ^ *hash : *hash;
    if (policy.terminal) break;
  }
}

const network::Address* RouterFilter::originalDestination() const {
  const auto& local = callbacks_->connection().localAddress();
  return local.valid() ? &local : nullptr;
}

bool RouterFilter::shouldSkipHost(const upstream::Host& host) const {
  for (const auto& tried : tried_hosts_) {
    if (tried.get() == &host) return true;
  }
  return false;
}

bool RouterFilter::maybeRetry(bool retriable) {
  if (!retriable || !retry_state_ || response_started_) return false;
  if (!replayable_ || retry_state_->retriesTaken() >= retry_state_->policy().num_retries) {
    return false;
  }
  recordUpstreamEnd();
  if (cluster_info_ && !cluster_info_->tryAcquireRetry()) {
    // The retry budget or max-retries breaker is full: the failure stands.
    cluster_info_->onEvent(upstream::ClusterInfo::Event::kRetryOverflow);
    return false;
  }
  retry_slot_ = cluster_info_ != nullptr;
  retry_state_->takeRetry();
  if (cluster_info_) cluster_info_->onEvent(upstream::ClusterInfo::Event::kRetry);
  if (per_try_timer_) per_try_timer_->disable();
  if (upstream_) {
    upstream_->reset();
    // The abandoned try may be inside its own callback: it goes after this event.
    callbacks_->dispatcher().deferredDelete(std::move(upstream_));
  }
  upstream_ready_ = false;
  // What the abandoned try was sent goes first to the next one, then what has not been sent.
  buffer::OwnedBuffer body;
  body.move(replay_);
  body.move(pending_body_);
  pending_body_.move(body);
  body_sent_ = false;
  if (!retry_timer_) retry_timer_ = callbacks_->dispatcher().createTimer([this] { doRetry(); });
  retry_timer_->enable(retry_state_->backoff());
  return true;
}

void RouterFilter::doRetry() {
  // May answer at once (no host, pool failure).
  startUpstream();
}

void RouterFilter::onPerTryTimeout() {
  if (cluster_info_) cluster_info_->onEvent(upstream::ClusterInfo::Event::kPerTryTimeout);
  upstream_status_ = 0;
  if (upstream_) upstream_->timeout();
  if (retry_state_ &&
      maybeRetry(retry_state_->retriableOutcome(remora::router::TryOutcome::kPerTryTimeout))) {
    return;
  }
  onTimeout();
}

void RouterFilter::releaseSlots() {
  if (request_slot_) {
    request_slot_ = false;
    cluster_info_->releaseRequest();
  }
  if (retry_slot_) {
    retry_slot_ = false;
    cluster_info_->releaseRetry();
  }
}

void RouterFilter::recordUpstreamEnd() {
  releaseSlots();
  if (!upstream_counted_) return;
  upstream_counted_ = false;
  cluster_info_->onUpstreamRequestEnd(upstream_status_,
                                      std::chrono::steady_clock::now() - upstream_start_);
}

void RouterFilter::onUpstreamFailure(uint32_t status, http::ResponseFlag flag,
                                     std::string_view details) {
  if (retry_state_) {
    using remora::router::TryOutcome;
    std::optional<TryOutcome> outcome;
    if (flag == http::ResponseFlag::kUpstreamConnectionFailure) {
      outcome = TryOutcome::kConnectFailure;
    } else if (flag == http::ResponseFlag::kUpstreamRemoteReset ||
               flag == http::ResponseFlag::kUpstreamProtocolError) {
      outcome = TryOutcome::kReset;
    }
    if (outcome && maybeRetry(retry_state_->retriableOutcome(*outcome))) return;
  }
  if (timeout_timer_) timeout_timer_->disable();
  if (per_try_timer_) per_try_timer_->disable();
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
  if (per_try_timer_) per_try_timer_->disable();
  if (retry_timer_) retry_timer_->disable();
  if (cluster_info_) cluster_info_->onEvent(upstream::ClusterInfo::Event::kTimeout);
  if (upstream_) upstream_->timeout();
  if (response_started_) {
    callbacks_->streamInfo().setFlag(http::ResponseFlag::kUpstreamRequestTimeout);
    callbacks_->resetStream();
    return;
  }
  callbacks_->sendLocalReply(504, "upstream request timeout", "upstream_response_timeout",
                             http::ResponseFlag::kUpstreamRequestTimeout);
}

void RouterFilter::onUpstreamHostDone(const upstream::Host& host,
                                      std::chrono::nanoseconds latency) {
  // Looked up again: cluster objects may be swapped between events.
  if (auto* cluster =
          callbacks_->worker().clusterManager().getCluster(callbacks_->streamInfo().cluster_name)) {
    cluster->onRequestComplete(host, latency);
  }
}

void RouterFilter::onUpstreamHostResult(const upstream::Host& host, uint32_t status) {
  if (status >= 100 && status < 200) return;
  if (auto* cluster =
          callbacks_->worker().clusterManager().getCluster(callbacks_->streamInfo().cluster_name)) {
    cluster->onHostResult(host, status);
  }
}

void RouterFilter::onUpstreamInformational(std::unique_ptr<http::HeaderMap> headers) {
  callbacks_->encodeInformationalHeaders(std::move(headers));
}

void RouterFilter::onUpstreamHeaders(std::unique_ptr<http::HeaderMap> headers, bool end_stream) {
  upstream_status_ = headers->status();
  if (retry_state_ && !response_started_ && maybeRetry(retry_state_->retriableResponse(*headers))) {
    return;
  }
  response_started_ = true;
  if (!set_cookie_.empty()) headers->add("set-cookie", set_cookie_);
  if (end_stream) recordUpstreamEnd();
  // A 101 opened a tunnel (the codecs switched to raw bytes): it lives as long as both sides
  // keep it busy, bounded by the stream idle timeout rather than the route's.
  const bool done_or_tunnel = end_stream || upstream_status_ == 101;
  if (done_or_tunnel && timeout_timer_) timeout_timer_->disable();
  if (done_or_tunnel && per_try_timer_) per_try_timer_->disable();
  if (const auto* route = callbacks_->route()) route->applyResponseTransforms(*headers);
  callbacks_->encodeHeaders(std::move(headers), end_stream);
}

void RouterFilter::onUpstreamData(buffer::Instance& data, bool end_stream) {
  if (end_stream) recordUpstreamEnd();
  if (end_stream && timeout_timer_) timeout_timer_->disable();
  if (end_stream && per_try_timer_) per_try_timer_->disable();
  callbacks_->encodeData(data, end_stream);
}

void RouterFilter::onUpstreamTrailers(std::unique_ptr<http::HeaderMap> trailers) {
  recordUpstreamEnd();
  if (timeout_timer_) timeout_timer_->disable();
  if (per_try_timer_) per_try_timer_->disable();
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
  releaseSlots();
  for (auto* shadow : shadows_) shadow->detach();
  shadows_.clear();
  timeout_timer_.reset();
  per_try_timer_.reset();
  retry_timer_.reset();
  if (watermark_registered_) {
    watermark_registered_ = false;
    callbacks_->removeDownstreamWatermarkCallbacks(*this);
  }
  if (upstream_) {
    upstream_->reset();
    // Deferred: this may run inside one of the upstream request's own callbacks.
    callbacks_->dispatcher().deferredDelete(std::move(upstream_));
  }
}

}  // namespace remora::filters::router
