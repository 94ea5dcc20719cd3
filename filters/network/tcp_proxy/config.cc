// Registers `remora.filters.network.tcp_proxy`: validates TcpProxy config and builds the
// per-connection factory.

#include <google/protobuf/util/time_util.h>

#include "filters/network/tcp_proxy/tcp_proxy.h"
#include "remora/extensions/filters/network/tcp_proxy/v1/tcp_proxy.pb.h"
#include "source/common/config/registry.h"
#include "source/interface/config/filter_factory.h"

namespace remora::filters::tcp_proxy {
namespace {

using ProtoConfig = extensions::filters::network::tcp_proxy::v1::TcpProxy;
using google::protobuf::util::TimeUtil;

constexpr std::chrono::milliseconds kDefaultIdleTimeout = std::chrono::hours(1);

class TcpProxyConfigFactory : public config::NetworkFilterConfigFactory {
 public:
  std::string name() const override { return "remora.filters.network.tcp_proxy"; }
  std::unique_ptr<google::protobuf::Message> createEmptyConfig() const override {
    return std::make_unique<ProtoConfig>();
  }
  bool isTerminal() const override { return true; }

  network::FilterFactoryCb createFilterFactory(const google::protobuf::Message& message,
                                               const std::string& path,
                                               config::FactoryContext& context,
                                               config::Errors& errors) const override {
    const auto& proto = static_cast<const ProtoConfig&>(message);
    bool ok = true;
    if (proto.cluster().empty()) {
      errors.add(path + ".cluster", "must name a cluster");
      ok = false;
    } else if (!context.clusterExists(proto.cluster())) {
      errors.add(path + ".cluster", "unknown cluster \"" + proto.cluster() + "\"");
      ok = false;
    }
    if (proto.has_idle_timeout() && proto.idle_timeout().seconds() < 0) {
      errors.add(path + ".idle_timeout", "must not be negative");
      ok = false;
    }
    if (!ok) return nullptr;

    auto config = std::make_shared<TcpProxyConfig>();
    config->cluster = proto.cluster();
    config->stat_prefix = proto.stat_prefix().empty() ? proto.cluster() : proto.stat_prefix();
    config->idle_timeout =
        proto.has_idle_timeout()
            ? std::chrono::milliseconds(TimeUtil::DurationToMilliseconds(proto.idle_timeout()))
            : kDefaultIdleTimeout;
    stats::Labels labels{{"listener", context.listenerName()}, {"cluster", config->cluster}};
    auto& store = context.stats();
    config->no_host = &store.counter("remora_tcp_proxy_no_upstream_host_total",
                                     "Connections closed because the cluster had no host.", labels);
    config->connect_failures =
        &store.counter("remora_tcp_proxy_upstream_connect_failures_total",
                       "Connections closed because the upstream connect failed.", labels);
    config->idle_timeouts = &store.counter("remora_tcp_proxy_idle_timeouts_total",
                                           "Connections closed by the idle timeout.", labels);
    std::shared_ptr<const TcpProxyConfig> shared = std::move(config);
    return [shared](network::Connection& connection, server::WorkerContext& worker) {
      connection.addReadFilter(std::make_shared<TcpProxyFilter>(shared, worker));
    };
  }
};

const config::RegisterFactory<TcpProxyConfigFactory, config::NetworkFilterConfigFactory> registered;

}  // namespace
}  // namespace remora::filters::tcp_proxy
