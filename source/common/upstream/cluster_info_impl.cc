#include "source/common/upstream/cluster_info_impl.h"

#include <google/protobuf/util/time_util.h>

#include "source/common/network/raw_transport_socket.h"

namespace remora::upstream {
namespace {
constexpr std::chrono::milliseconds kDefaultConnectTimeout{5000};
constexpr uint32_t kDefaultBufferLimit = 1024 * 1024;
}  // namespace

ClusterInfoImpl::ClusterInfoImpl(const config::cluster::v1::Cluster& config, stats::Store& store)
    : name_(config.name()),
      connect_timeout_(
          config.has_connect_timeout()
              ? std::chrono::milliseconds(google::protobuf::util::TimeUtil::DurationToMilliseconds(
                    config.connect_timeout()))
              : kDefaultConnectTimeout),
      buffer_limit_(config.has_per_connection_buffer_limit_bytes()
                        ? config.per_connection_buffer_limit_bytes().value()
                        : kDefaultBufferLimit),
      transport_(std::make_unique<network::RawTransportSocketFactory>()),
      http_protocol_(config.http_protocol()) {
  for (const auto& locality : config.load_assignment().endpoints()) {
    for (const auto& lb_endpoint : locality.lb_endpoints()) {
      const auto& sa = lb_endpoint.endpoint().address().socket_address();
      auto address = network::Address::fromIpPort(sa.address(), sa.port_value());
      if (!address) continue;  // Rejected by validation; never reached with valid config.
      auto host = std::make_shared<Host>();
      host->address = *address;
      host->weight =
          lb_endpoint.has_load_balancing_weight() ? lb_endpoint.load_balancing_weight().value() : 1;
      hosts_.push_back(std::move(host));
    }
  }
  stats::Labels labels{{"cluster", name_}};
  connection_stats_.total = &store.counter("remora_cluster_upstream_connections_total",
                                           "Upstream connections opened.", labels);
  connection_stats_.active = &store.gauge("remora_cluster_upstream_connections_active",
                                          "Upstream connections open now.", labels);
  connection_stats_.rx_bytes = &store.counter("remora_cluster_upstream_received_bytes_total",
                                              "Bytes received from upstream hosts.", labels);
  connection_stats_.tx_bytes = &store.counter("remora_cluster_upstream_sent_bytes_total",
                                              "Bytes sent to upstream hosts.", labels);
  connection_stats_.connect_fail =
      &store.counter("remora_cluster_upstream_connect_failures_total",
                     "Upstream connection attempts that failed, timeouts included.", labels);
  connection_stats_.connect_timeout =
      &store.counter("remora_cluster_upstream_connect_timeouts_total",
                     "Upstream connection attempts that timed out.", labels);
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
