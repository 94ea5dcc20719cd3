#include "source/common/upstream/cluster_info_impl.h"

#include <google/protobuf/util/time_util.h>

#include <atomic>
#include <optional>
#include <unordered_map>

#include "source/common/network/raw_transport_socket.h"
#include "source/common/upstream/host_health.h"

namespace remora::upstream {
namespace {
constexpr std::chrono::milliseconds kDefaultConnectTimeout{5000};
constexpr uint32_t kDefaultBufferLimit = 1024 * 1024;
constexpr std::chrono::milliseconds kDefaultUpstreamIdleTimeout{3600 * 1000};
std::atomic<uint64_t> g_next_cluster_id{1};
// Request-duration buckets in seconds, 0.5 ms to 60 s.
const std::vector<double> kDurationBuckets = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
                                              0.25,   0.5,   1,      2.5,   5,    10,    30,   60};
const stats::MetricSpec kConnectionsTotal{"remora_cluster_upstream_connections_total",
                                          "Upstream connections opened."};
const stats::MetricSpec kConnectionsActive{"remora_cluster_upstream_connections_active",
                                           "Upstream connections open now."};
const stats::MetricSpec kReceivedBytes{"remora_cluster_upstream_received_bytes_total",
                                       "Bytes received from upstream hosts."};
const stats::MetricSpec kSentBytes{"remora_cluster_upstream_sent_bytes_total",
                                   "Bytes sent to upstream hosts."};
const stats::MetricSpec kConnectFailures{
    "remora_cluster_upstream_connect_failures_total",
    "Upstream connection attempts that failed, timeouts included."};
const stats::MetricSpec kConnectTimeouts{"remora_cluster_upstream_connect_timeouts_total",
                                         "Upstream connection attempts that timed out."};
const stats::MetricSpec kRequestsActive{"remora_cluster_upstream_requests_active",
                                        "HTTP requests to the cluster in progress."};
const stats::MetricSpec kRequestDuration{
    "remora_cluster_upstream_request_duration_seconds",
    "Time from sending an HTTP request upstream to the end of its response.", &kDurationBuckets};
const stats::MetricSpec kRetries{"remora_cluster_upstream_retries_total",
                                 "Requests sent again under a route's retry policy."};
const stats::MetricSpec kRetryOverflows{
    "remora_cluster_upstream_retry_overflows_total",
    "Retries not made because the retry budget or breaker was full."};
const stats::MetricSpec kPerTryTimeouts{"remora_cluster_upstream_per_try_timeouts_total",
                                        "Tries that ran out of their per-try timeout."};
const stats::MetricSpec kTimeouts{"remora_cluster_upstream_timeouts_total",
                                  "Requests that ran out of their route timeout."};
const stats::MetricSpec kMirrorRequests{"remora_cluster_upstream_mirror_requests_total",
                                        "Mirrored copies of requests sent to this shadow cluster."};
const stats::MetricSpec kSelfConnectionsRefused{
    "remora_cluster_upstream_self_connections_refused_total",
    "Connections not made because the original destination is one of the proxy's own "
    "listeners (they would loop back into the proxy)."};
// Plaintext clusters share one stateless factory.
std::shared_ptr<network::TransportSocketFactory> rawTransport() {
  static const auto factory = std::make_shared<network::RawTransportSocketFactory>();
  return factory;
}
}  // namespace

ClusterStats::ClusterStats(stats::Store& store, const std::string& cluster)
    : scope{store, {{"cluster", cluster}}},
      connections_total(scope, kConnectionsTotal),
      connections_active(scope, kConnectionsActive),
      rx_bytes(scope, kReceivedBytes),
      tx_bytes(scope, kSentBytes),
      connect_fail(scope, kConnectFailures),
      connect_timeout(scope, kConnectTimeouts),
      requests_active(scope, kRequestsActive),
      request_duration(scope, kRequestDuration),
      retries(scope, kRetries),
      retry_overflows(scope, kRetryOverflows),
      per_try_timeouts(scope, kPerTryTimeouts),
      timeouts(scope, kTimeouts),
      mirror_requests(scope, kMirrorRequests),
      self_connections_refused(scope, kSelfConnectionsRefused),
      connection{&connections_total, &connections_active, &rx_bytes, &tx_bytes,
                 &connect_fail,      &connect_timeout,    nullptr} {}

ClusterStats& ClusterStatsSlot::get(const std::string& cluster) {
  ClusterStats* stats = stats_.load(std::memory_order_acquire);
  if (stats != nullptr) return *stats;
  auto made = std::make_unique<ClusterStats>(store_, cluster);
  // Two workers may race on a cluster's first request: one set wins, the other is dropped
  // before anything was counted in it.
  if (stats_.compare_exchange_strong(stats, made.get(), std::memory_order_acq_rel)) {
    return *made.release();
  }
  return *stats;
}

ClusterInfoImpl::ClusterInfoImpl(const config::cluster::v1::Cluster& config, stats::Store& store,
                                 const config::endpoint::v1::ClusterLoadAssignment* endpoints,
                                 std::shared_ptr<network::TransportSocketFactory> transport)
    : name_(config.name()),
      id_(g_next_cluster_id.fetch_add(1, std::memory_order_relaxed)),
      store_(store),
      connect_timeout_(
          config.has_connect_timeout()
              ? std::chrono::milliseconds(google::protobuf::util::TimeUtil::DurationToMilliseconds(
                    config.connect_timeout()))
              : kDefaultConnectTimeout),
      buffer_limit_(config.has_per_connection_buffer_limit_bytes()
                        ? config.per_connection_buffer_limit_bytes().value()
                        : kDefaultBufferLimit),
      transport_(transport ? std::move(transport) : rawTransport()),
      http_protocol_(config.http_protocol()),
      type_(config.type()),
      original_dst_to_loopback_(config.original_dst_to_loopback()) {
  if (config.has_upstream_bind_config()) {
    const auto& source = config.upstream_bind_config().source_address();
    source_address_ =
        network::Address::fromIpPort(source.address(), static_cast<uint16_t>(source.port_value()))
            .value_or(network::Address());
  }
  const auto& http_options = config.common_http_protocol_options();
  http_connection_.idle_timeout =
      http_options.has_idle_timeout()
          ? std::chrono::milliseconds(google::protobuf::util::TimeUtil::DurationToMilliseconds(
                http_options.idle_timeout()))
          : kDefaultUpstreamIdleTimeout;
  http_connection_.max_requests = http_options.max_requests_per_connection().value();
  ResourceLimits limits;
  const auto& breakers = config.circuit_breakers();
  if (breakers.has_max_connections()) limits.max_connections = breakers.max_connections().value();
  if (breakers.has_max_pending_requests()) {
    limits.max_pending_requests = breakers.max_pending_requests().value();
  }
  if (breakers.has_max_requests()) limits.max_requests = breakers.max_requests().value();
  if (breakers.has_max_retries()) limits.max_retries = breakers.max_retries().value();
  if (breakers.has_retry_budget()) {
    const auto& budget = breakers.retry_budget();
    if (budget.has_budget_percent()) limits.retry_budget_percent = budget.budget_percent().value();
    if (budget.has_min_retry_concurrency()) {
      limits.retry_budget_min_concurrency = budget.min_retry_concurrency().value();
    }
  } else {
    // Without a budget only max_retries applies.
    limits.retry_budget_percent = 100.0;
    limits.retry_budget_min_concurrency = limits.max_retries;
  }
  resources_ = std::make_shared<ResourceManager>(limits, name_, store);
  using Policy = LbConfig::Policy;
  switch (config.lb_policy()) {
    case config::cluster::v1::Cluster::LEAST_REQUEST:
      lb_config_.policy = Policy::kLeastRequest;
      break;
    case config::cluster::v1::Cluster::RANDOM:
      lb_config_.policy = Policy::kRandom;
      break;
    case config::cluster::v1::Cluster::RING_HASH:
      lb_config_.policy = Policy::kRingHash;
      break;
    case config::cluster::v1::Cluster::MAGLEV:
      lb_config_.policy = Policy::kMaglev;
      break;
    case config::cluster::v1::Cluster::PEAK_EWMA:
      lb_config_.policy = Policy::kPeakEwma;
      break;
    default:
      lb_config_.policy = Policy::kRoundRobin;
      break;
  }
  if (config.has_healthy_panic_threshold()) {
    lb_config_.panic_threshold_percent = config.healthy_panic_threshold().value();
  }
  if (config.has_least_request_choice_count()) {
    lb_config_.least_request_choice_count = config.least_request_choice_count().value();
  }
  if (config.health_checks_size() > 0) {
    const auto& hc = config.health_checks(0);
    auto ms = [](const google::protobuf::Duration& d) {
      return std::chrono::milliseconds(google::protobuf::util::TimeUtil::DurationToMilliseconds(d));
    };
    HealthCheckConfig c;
    if (hc.has_timeout()) c.timeout = ms(hc.timeout());
    if (hc.has_interval()) c.interval = ms(hc.interval());
    if (hc.has_interval_jitter()) c.interval_jitter = ms(hc.interval_jitter());
    if (hc.has_unhealthy_threshold()) c.unhealthy_threshold = hc.unhealthy_threshold().value();
    if (hc.has_healthy_threshold()) c.healthy_threshold = hc.healthy_threshold().value();
    if (hc.has_tcp_health_check()) {
      c.kind = HealthCheckConfig::Kind::kTcp;
    } else {
      const auto& http = hc.http_health_check();
      if (!http.path().empty()) c.path = http.path();
      c.host = http.host();
      if (http.expected_statuses_size() > 0) {
        c.expected_statuses.clear();
        for (const auto& range : http.expected_statuses()) {
          c.expected_statuses.emplace_back(range.start(), range.end());
        }
      }
    }
    health_check_ = std::make_shared<const HealthCheckConfig>(std::move(c));
  }
  std::optional<OutlierConfig> outlier_config;
  if (config.has_outlier_detection()) {
    const auto& od = config.outlier_detection();
    OutlierConfig oc;
    auto ms = [](const google::protobuf::Duration& d) {
      return std::chrono::milliseconds(google::protobuf::util::TimeUtil::DurationToMilliseconds(d));
    };
    if (od.has_consecutive_5xx()) oc.consecutive_5xx = od.consecutive_5xx().value();
    if (od.has_consecutive_gateway_failure()) {
      oc.consecutive_gateway_failure = od.consecutive_gateway_failure().value();
    }
    if (od.has_consecutive_local_origin_failure()) {
      oc.consecutive_local_origin_failure = od.consecutive_local_origin_failure().value();
    }
    if (od.has_interval()) oc.interval = ms(od.interval());
    if (od.has_base_ejection_time()) oc.base_ejection_time = ms(od.base_ejection_time());
    if (od.has_max_ejection_time()) oc.max_ejection_time = ms(od.max_ejection_time());
    if (od.has_max_ejection_percent()) oc.max_ejection_percent = od.max_ejection_percent().value();
    if (od.has_success_rate_minimum_hosts()) {
      oc.success_rate_minimum_hosts = od.success_rate_minimum_hosts().value();
    }
    if (od.has_success_rate_request_volume()) {
      oc.success_rate_request_volume = od.success_rate_request_volume().value();
    }
    if (od.has_success_rate_stdev_factor()) {
      oc.success_rate_stdev_factor = od.success_rate_stdev_factor().value() / 1000.0;
    }
    if (od.has_failure_percentage_threshold()) {
      oc.failure_percentage_threshold = od.failure_percentage_threshold().value();
    }
    if (od.has_failure_percentage_minimum_hosts()) {
      oc.failure_percentage_minimum_hosts = od.failure_percentage_minimum_hosts().value();
    }
    if (od.has_failure_percentage_request_volume()) {
      oc.failure_percentage_request_volume = od.failure_percentage_request_volume().value();
    }
    outlier_config = oc;
  }
  if (config.has_peak_ewma_decay()) {
    lb_config_.ewma_decay = std::chrono::milliseconds(
        google::protobuf::util::TimeUtil::DurationToMilliseconds(config.peak_ewma_decay()));
  }
  if (type_ == config::cluster::v1::Cluster::STRICT_DNS ||
      type_ == config::cluster::v1::Cluster::LOGICAL_DNS) {
    // Names, not addresses: the hosts come from resolving them (DnsClusters).
    auto dns = std::make_shared<DnsSettings>();
    for (const auto& locality : config.load_assignment().endpoints()) {
      for (const auto& lb_endpoint : locality.lb_endpoints()) {
        const auto& sa = lb_endpoint.endpoint().address().socket_address();
        dns->targets.push_back(DnsTarget{sa.address(), sa.port_value(),
                                         lb_endpoint.has_load_balancing_weight()
                                             ? lb_endpoint.load_balancing_weight().value()
                                             : 1});
      }
    }
    if (config.has_dns_refresh_rate()) {
      dns->refresh_rate = std::chrono::milliseconds(
          google::protobuf::util::TimeUtil::DurationToMilliseconds(config.dns_refresh_rate()));
    }
    dns->respect_ttl = config.respect_dns_ttl();
    dns->family = config.dns_lookup_family();
    dns_ = std::move(dns);
  } else {
    hosts_ = buildHosts(endpoints ? *endpoints : config.load_assignment(), {});
  }
  stats_ = std::make_shared<ClusterStatsSlot>(store);
  // Built last: it needs the host list.
  if (outlier_config) outlier_config_ = std::make_shared<const OutlierConfig>(*outlier_config);
  if (outlier_config) {
    outlier_ = std::make_shared<OutlierDetector>(*outlier_config, hosts_, name_, store);
  }
}

std::vector<HostConstSharedPtr> ClusterInfoImpl::buildHosts(
    const config::endpoint::v1::ClusterLoadAssignment& endpoints,
    const std::vector<HostConstSharedPtr>& previous) {
  std::unordered_map<std::string, const HostConstSharedPtr*> by_address;
  for (const auto& host : previous) by_address.emplace(host->address.asString(), &host);
  std::vector<HostConstSharedPtr> hosts;
  size_t count = 0;
  for (const auto& locality : endpoints.endpoints()) count += locality.lb_endpoints_size();
  hosts.reserve(count);  // exactly: a cluster keeps this vector as long as its host set
  for (const auto& locality : endpoints.endpoints()) {
    for (const auto& lb_endpoint : locality.lb_endpoints()) {
      const auto& sa = lb_endpoint.endpoint().address().socket_address();
      auto address = network::Address::fromIpPort(sa.address(), sa.port_value());
      if (!address) continue;  // Rejected by validation; never reached with valid config.
      uint32_t weight =
          lb_endpoint.has_load_balancing_weight() ? lb_endpoint.load_balancing_weight().value() : 1;
      bool unhealthy = lb_endpoint.health_status() == config::endpoint::v1::UNHEALTHY ||
                       lb_endpoint.health_status() == config::endpoint::v1::DRAINING;
      auto it = by_address.find(address->asString());
      if (it != by_address.end() && (*it->second)->weight == weight) {
        const HostConstSharedPtr& host = *it->second;
        setHealthFlag(*host, Host::kEdsUnhealthy, unhealthy);
        hosts.push_back(host);
        continue;
      }
      auto host = std::make_shared<Host>();
      host->address = *address;
      host->weight = weight;
      uint32_t flags = unhealthy ? static_cast<uint32_t>(Host::kEdsUnhealthy) : 0u;
      // A host whose weight changed keeps what health checking learned about it.
      if (it != by_address.end()) {
        flags |= (*it->second)->health_flags.load(std::memory_order_relaxed) &
                 ~static_cast<uint32_t>(Host::kEdsUnhealthy);
      }
      host->health_flags.store(flags, std::memory_order_relaxed);
      hosts.push_back(std::move(host));
    }
  }
  return hosts;
}

std::shared_ptr<const ClusterInfoImpl> ClusterInfoImpl::withHosts(
    const ClusterInfoImpl& base, const config::endpoint::v1::ClusterLoadAssignment& endpoints) {
  std::shared_ptr<ClusterInfoImpl> info(new ClusterInfoImpl(base));
  info->hosts_ = buildHosts(endpoints, base.hosts_);
  if (base.outlier_config_) {
    info->outlier_ = std::make_shared<OutlierDetector>(*base.outlier_config_, info->hosts_,
                                                       base.name_, base.store_);
    info->outlier_->inheritFrom(*base.outlier_);
  }
  return info;
}

void ClusterInfoImpl::onEvent(Event event) const {
  switch (event) {
    case Event::kRetry:
      metrics().retries.inc();
      break;
    case Event::kRetryOverflow:
      metrics().retry_overflows.inc();
      break;
    case Event::kPerTryTimeout:
      metrics().per_try_timeouts.inc();
      break;
    case Event::kTimeout:
      metrics().timeouts.inc();
      break;
    case Event::kMirrorRequest:
      metrics().mirror_requests.inc();
      break;
  }
}

stats::Counter& ClusterInfoImpl::requestsWithStatus(uint32_t status) const {
  // Counters per status code are made on first use; each worker remembers them, so only the
  // first request with a given code takes the store's lock.
  thread_local std::unordered_map<uint64_t, stats::Counter*> cache;
  uint64_t key = (id_ << 10) | (status & 0x3ff);
  auto it = cache.find(key);
  if (it != cache.end()) return *it->second;
  auto& counter = store_.counter("remora_cluster_upstream_requests_total",
                                 "HTTP requests to the cluster, by response status.",
                                 {{"cluster", name_}, {"code", std::to_string(status)}});
  cache.emplace(key, &counter);
  return counter;
}

void ClusterInfoImpl::onUpstreamRequestStart() const { metrics().requests_active.inc(); }

void ClusterInfoImpl::onUpstreamRequestEnd(uint32_t status,
                                           std::chrono::nanoseconds duration) const {
  metrics().requests_active.dec();
  if (status != 0) requestsWithStatus(status).inc();
  metrics().request_duration.record(std::chrono::duration<double>(duration).count());
}

http::Protocol ClusterInfoImpl::upstreamHttpProtocol(http::Protocol downstream) const {
  switch (http_protocol_) {
    case config::cluster::v1::Cluster::HTTP2:
      return http::Protocol::kHttp2;
    case config::cluster::v1::Cluster::USE_DOWNSTREAM_PROTOCOL:
      return downstream == http::Protocol::kHttp2 ? http::Protocol::kHttp2
                                                  : http::Protocol::kHttp11;
    default:
      return http::Protocol::kHttp11;
  }
}

}  // namespace remora::upstream
