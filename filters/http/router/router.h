#pragma once

// The router: the last HTTP filter. It sends the request to a host of the cluster its route
// names (through the worker's connection pool for that host) and streams the response back;
// redirects and direct responses are answered here. Failures map to 404 (no route), 503 (no
// cluster, no host, connect failure, overflow), 504 (timeout), 502 (reset or bad response).
//
// With a retry policy, a try that fails before any of its response went downstream is sent
// again after a jittered backoff, to another host when there is one, replaying the request
// body (kept while it stays under a bound; beyond it the request is not retried). The route
// timeout covers every try; a per-try timeout covers one.

#include <memory>

#include <optional>
#include <vector>

#include "source/common/buffer/owned_buffer.h"
#include "source/common/router/retry_policy.h"
#include "source/interface/common/random.h"
#include "source/interface/http/conn_pool.h"
#include "source/interface/http/filter.h"
#include "source/interface/upstream/cluster.h"
#include "source/interface/upstream/load_balancer.h"

namespace remora::filters::router {

class ShadowRequest;
class UpstreamRequest;

class RouterFilter : public http::StreamDecoderFilter,
                     public http::DownstreamWatermarkCallbacks,
                     public upstream::LoadBalancerContext {
 public:
  RouterFilter() = default;
  ~RouterFilter() override;

  // http::StreamDecoderFilter
  void setDecoderFilterCallbacks(http::StreamDecoderFilterCallbacks& callbacks) override;
  http::FilterStatus decodeHeaders(http::HeaderMap& headers, bool end_stream) override;
  http::FilterStatus decodeData(buffer::Instance& data, bool end_stream) override;
  http::FilterStatus decodeTrailers(http::HeaderMap& trailers) override;
  void onDestroy() override;

  // http::DownstreamWatermarkCallbacks: the client is slow; pause reading the upstream.
  void onAboveWriteBufferHighWatermark() override;
  void onBelowWriteBufferLowWatermark() override;

  // From UpstreamRequest.
  void onUpstreamReady(http::RequestEncoder& encoder);
  void onUpstreamFailure(uint32_t status, http::ResponseFlag flag, std::string_view details);
  // The upstream refused the stream unprocessed: send it again when that is safe.
  void onUpstreamRefused(std::string_view details);
  void onUpstreamHeaders(std::unique_ptr<http::HeaderMap> headers, bool end_stream);
  void onUpstreamData(buffer::Instance& data, bool end_stream);
  void onUpstreamTrailers(std::unique_ptr<http::HeaderMap> trailers);
  void onUpstreamInformational(std::unique_ptr<http::HeaderMap> headers);
  // A try's response from `host` completed after `latency`.
  void onUpstreamHostDone(const upstream::Host& host, std::chrono::nanoseconds latency);
  // For outlier detection: a response status from `host`, or 0 for a local-origin failure.
  void onUpstreamHostResult(const upstream::Host& host, uint32_t status);
  http::StreamDecoderFilterCallbacks& callbacks() { return *callbacks_; }

  // upstream::LoadBalancerContext
  std::optional<uint64_t> hashKey() const override { return hash_key_; }
  const network::Address* originalDestination() const override;
  bool shouldSkipHost(const upstream::Host& host) const override;
  uint32_t hostSelectionRetryCount() const override { return tried_hosts_.empty() ? 0 : 3; }

 private:
  // The worker's generator, as the retry state wants it.
  class Random : public RandomGenerator {
   public:
    explicit Random(RouterFilter& parent) : parent_(parent) {}
    uint64_t random() override { return parent_.callbacks_->random(); }

   private:
    RouterFilter& parent_;
  };

  // The route's hash policies applied to the request (and a made-up affinity cookie).
  void computeHashKey(const remora::router::RouteEntry& route, const http::HeaderMap& headers);
  void onTimeout();
  void onPerTryTimeout();
  // Takes a retry for a try that ended this way if the policy, the budget and the request
  // (nothing of the response sent, body replayable) allow; then the try is abandoned and the
  // next one scheduled. False: the caller answers with the failure.
  bool maybeRetry(bool retriable);
  void doRetry();
  // Sends body bytes to the current try, keeping a copy for a retry while that is possible.
  void sendBody(buffer::Instance& data, bool end_stream);
  // Picks a host and asks its pool for a stream.
  bool startUpstream();
  // Records the upstream request's metrics once, when it ends either way.
  void recordUpstreamEnd();
  // Gives back the cluster breaker slots the current try holds.
  void releaseSlots();
  void cleanup();

  http::StreamDecoderFilterCallbacks* callbacks_ = nullptr;
  std::unique_ptr<UpstreamRequest> upstream_;
  http::HeaderMap* request_headers_ = nullptr;
  // Request body that arrived before the upstream stream was ready.
  buffer::OwnedBuffer pending_body_;
  std::unique_ptr<http::HeaderMap> pending_trailers_;
  bool request_end_stream_ = false;
  bool upstream_ready_ = false;
  bool response_started_ = false;
  bool above_watermark_ = false;
  bool watermark_registered_ = false;
  event::TimerPtr timeout_timer_;
  // Metrics of the upstream request (the cluster outlives the request in a static config).
  // Shared: a config update may remove the cluster while this request is in flight.
  std::shared_ptr<const upstream::ClusterInfo> cluster_info_;
  std::chrono::steady_clock::time_point upstream_start_;
  uint32_t upstream_status_ = 0;
  bool upstream_counted_ = false;
  bool request_slot_ = false;
  bool retry_slot_ = false;
  // Whether any request body went upstream (a refused request is re-sent only without one).
  bool body_sent_ = false;
  uint32_t refused_retries_left_ = 2;

  Random random_{*this};
  std::optional<remora::router::RetryState> retry_state_;
  // The request body sent so far, for replaying to a retry; dropped (and retries given up)
  // once it would pass the replay bound.
  buffer::OwnedBuffer replay_;
  bool replayable_ = true;
  std::vector<upstream::HostConstSharedPtr> tried_hosts_;
  std::optional<uint64_t> hash_key_;
  // A Set-Cookie for the response when the proxy made up the affinity cookie.
  std::string set_cookie_;
  // Copies of this request on their way to shadow clusters.
  std::vector<ShadowRequest*> shadows_;
  event::TimerPtr per_try_timer_;
  event::TimerPtr retry_timer_;
};

}  // namespace remora::filters::router
