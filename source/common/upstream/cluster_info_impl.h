#pragma once

// Immutable cluster data built once on the main thread from a Cluster proto.

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "remora/config/cluster/v1/cluster.pb.h"
#include "source/common/http/conn_pool/codec_client.h"
#include "source/common/network/connection_impl.h"
#include "source/common/stats/lazy_metrics.h"
#include "source/common/upstream/health_checker.h"
#include "source/common/upstream/load_balancer_impl.h"
#include "source/common/upstream/outlier_detector.h"
#include "source/common/upstream/resource_manager.h"
#include "source/interface/http/codec.h"
#include "source/interface/network/transport_socket.h"
#include "source/interface/stats/stats.h"
#include "source/interface/upstream/cluster.h"

namespace remora::upstream {

// One cluster's metrics, shared by every host-set version of the cluster. Series are created on
// first use: a pod learns thousands of clusters from the control plane and calls a few.
struct ClusterStats {
  ClusterStats(stats::Store& store, const std::string& cluster);
  ClusterStats(const ClusterStats&) = delete;
  ClusterStats& operator=(const ClusterStats&) = delete;

  stats::LazyScope scope;  // first: the handles below refer to it
  stats::LazyCounter connections_total;
  stats::LazyGauge connections_active;
  stats::LazyCounter rx_bytes;
  stats::LazyCounter tx_bytes;
  stats::LazyCounter connect_fail;
  stats::LazyCounter connect_timeout;
  stats::LazyGauge requests_active;
  stats::LazyHistogram request_duration;
  stats::LazyCounter retries;
  stats::LazyCounter retry_overflows;
  stats::LazyCounter per_try_timeouts;
  stats::LazyCounter timeouts;
  stats::LazyCounter mirror_requests;
  stats::LazyCounter self_connections_refused;
  // Points into the handles above, for upstream connections.
  network::ConnectionStats connection;
};

// Holds a cluster's ClusterStats once something first counts; shared by the cluster's host-set
// versions and by its upstream connections. An idle cluster costs this slot only.
class ClusterStatsSlot {
 public:
  explicit ClusterStatsSlot(stats::Store& store) : store_(store) {}
  ~ClusterStatsSlot() { delete stats_.load(std::memory_order_acquire); }
  ClusterStatsSlot(const ClusterStatsSlot&) = delete;
  ClusterStatsSlot& operator=(const ClusterStatsSlot&) = delete;
  // Any thread; the first caller creates the metrics.
  ClusterStats& get(const std::string& cluster);

 private:
  stats::Store& store_;
  std::atomic<ClusterStats*> stats_{nullptr};
};

class ClusterInfoImpl : public ClusterInfo {
 public:
  // `config` must already be validated. Registers the cluster's metrics in `store`. Hosts come
  // from config.load_assignment unless `endpoints` is given (endpoint discovery).
  // `transport` (null: plaintext) is the cluster's TLS, built by the caller from
  // config.transport_socket (it needs the process's certificate sources).
  ClusterInfoImpl(const config::cluster::v1::Cluster& config, stats::Store& store,
                  const config::endpoint::v1::ClusterLoadAssignment* endpoints = nullptr,
                  std::shared_ptr<network::TransportSocketFactory> transport = nullptr);

  // The same cluster with another host set (an endpoint or DNS update): it shares config,
  // metrics, circuit breakers and its configId() with `base`, so workers keep their pools to
  // hosts that stay. A host whose address and weight are unchanged is the same object (its
  // health, ejection state and counters carry over); the cost is proportional to this
  // cluster's hosts, nothing else.
  static std::shared_ptr<const ClusterInfoImpl> withHosts(
      const ClusterInfoImpl& base, const config::endpoint::v1::ClusterLoadAssignment& endpoints);
  // STRICT_DNS / LOGICAL_DNS: the names to resolve (their hosts come from DNS), how often,
  // and which address families.
  struct DnsTarget {
    std::string name;
    uint32_t port;
    uint32_t weight;
  };
  bool usesDns() const { return dns_ != nullptr && !dns_->targets.empty(); }
  bool logicalDns() const { return type_ == config::cluster::v1::Cluster::LOGICAL_DNS; }
  // usesDns() clusters only.
  const std::vector<DnsTarget>& dnsTargets() const { return dns_->targets; }
  std::chrono::milliseconds dnsRefreshRate() const { return dns_->refresh_rate; }
  bool respectDnsTtl() const { return dns_->respect_ttl; }
  config::cluster::v1::Cluster::DnsLookupFamily dnsLookupFamily() const { return dns_->family; }
  // ORIGINAL_DST clusters have no host set: each connection goes to its original destination.
  bool originalDestination() const { return type_ == config::cluster::v1::Cluster::ORIGINAL_DST; }
  // ORIGINAL_DST: connect to loopback at the original port.
  bool originalDestinationToLoopback() const { return original_dst_to_loopback_; }
  // upstream_bind_config.source_address; invalid when the cluster has none.
  const network::Address& sourceAddress() const { return source_address_; }
  // Counts (any thread) a connection not made because its original destination was one of
  // the proxy's own listeners (loop protection).
  void onSelfConnectionRefused() const { metrics().self_connections_refused.inc(); }
  // Equal for all host-set versions of one cluster config.
  uint64_t configId() const { return id_; }

  const std::string& name() const override { return name_; }
  std::chrono::milliseconds connectTimeout() const override { return connect_timeout_; }
  uint32_t perConnectionBufferLimit() const override { return buffer_limit_; }
  const std::vector<HostConstSharedPtr>& hosts() const override { return hosts_; }
  void onUpstreamRequestStart() const override;
  void onUpstreamRequestEnd(uint32_t status, std::chrono::nanoseconds duration) const override;
  void onEvent(Event event) const override;
  bool tryAcquireRequest() const override { return resources_->requests().tryAcquire(); }
  void releaseRequest() const override { resources_->requests().release(); }
  bool tryAcquireRetry() const override { return resources_->tryAcquireRetry(); }
  void releaseRetry() const override { resources_->retries().release(); }
  ResourceManager& resourceManager() const { return *resources_; }
  const LbConfig& lbConfig() const { return lb_config_; }
  // Absent when the cluster has no active health check.
  const HealthCheckConfig* healthCheck() const { return health_check_.get(); }
  // Null when the cluster has no outlier detection.
  OutlierDetector* outlierDetector() const { return outlier_.get(); }

  // For an upstream connection; holds the cluster's metrics alive while it runs.
  network::ConnectionStats connectionStats() const {
    network::ConnectionStats stats = metrics().connection;
    stats.owner = stats_;
    return stats;
  }
  // The protocol of upstream HTTP requests for a request that came in as `downstream`.
  http::Protocol upstreamHttpProtocol(http::Protocol downstream) const;
  const network::TransportSocketFactory& transportSocketFactory() const { return *transport_; }
  const std::shared_ptr<network::TransportSocketFactory>& transportSocketFactoryPtr() const {
    return transport_;
  }
  // Per-connection limits of the cluster's HTTP connection pools.
  const http::CodecClientOptions& httpConnectionOptions() const { return http_connection_; }

 private:
  ClusterInfoImpl(const ClusterInfoImpl&) = default;
  stats::Counter& requestsWithStatus(uint32_t status) const;
  // Hosts of `endpoints`, reusing those of `previous` whose address and weight match.
  static std::vector<HostConstSharedPtr> buildHosts(
      const config::endpoint::v1::ClusterLoadAssignment& endpoints,
      const std::vector<HostConstSharedPtr>& previous);

  std::string name_;
  // Told apart in per-thread caches; addresses may be reused, ids are not.
  const uint64_t id_;
  stats::Store& store_;
  ClusterStats& metrics() const { return stats_->get(name_); }
  std::shared_ptr<ClusterStatsSlot> stats_;
  std::chrono::milliseconds connect_timeout_;
  uint32_t buffer_limit_;
  std::vector<HostConstSharedPtr> hosts_;
  std::shared_ptr<network::TransportSocketFactory> transport_;
  config::cluster::v1::Cluster::HttpProtocol http_protocol_;
  config::cluster::v1::Cluster::DiscoveryType type_;
  bool original_dst_to_loopback_ = false;
  network::Address source_address_;
  // Settings only some clusters have are allocated only by those (a mesh proxy holds thousands
  // of clusters); shared by the host-set versions of a cluster.
  struct DnsSettings {
    std::vector<DnsTarget> targets;
    std::chrono::milliseconds refresh_rate{5000};
    bool respect_ttl = false;
    config::cluster::v1::Cluster::DnsLookupFamily family = config::cluster::v1::Cluster::AUTO;
  };
  std::shared_ptr<const DnsSettings> dns_;
  http::CodecClientOptions http_connection_;
  std::shared_ptr<ResourceManager> resources_;
  LbConfig lb_config_;
  std::shared_ptr<OutlierDetector> outlier_;
  std::shared_ptr<const OutlierConfig> outlier_config_;
  std::shared_ptr<const HealthCheckConfig> health_check_;
};
using ClusterInfoConstSharedPtr = std::shared_ptr<const ClusterInfoImpl>;

}  // namespace remora::upstream
