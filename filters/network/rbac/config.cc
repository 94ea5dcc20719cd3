// Registers `remora.filters.network.rbac`: compiles the policies once per filter config and
// installs a filter instance on each connection.

#include "filters/network/rbac/rbac_filter_config.h"
#include "filters/network/rbac/rbac_network_filter.h"
#include "source/common/config/registry.h"
#include "source/interface/config/filter_factory.h"

namespace remora::filters::rbac {
namespace {

class RbacNetworkFilterConfigFactory : public config::NetworkFilterConfigFactory {
 public:
  std::string name() const override { return "remora.filters.network.rbac"; }
  std::unique_ptr<google::protobuf::Message> createEmptyConfig() const override {
    return std::make_unique<ProtoConfig>();
  }
  // It only decides whether the connection goes on to the filters after it.
  bool isTerminal() const override { return false; }

  network::FilterFactoryCb createFilterFactory(const google::protobuf::Message& message,
                                               const std::string& path,
                                               config::FactoryContext& context,
                                               config::Errors& errors) const override {
    auto shared = RbacFilterConfig::create(static_cast<const ProtoConfig&>(message),
                                           RbacFilterConfig::Kind::kNetwork, path,
                                           context.listenerName(), context.stats(), errors);
    if (!shared) return nullptr;
    return [shared](network::Connection& connection, server::WorkerContext&) {
      connection.addReadFilter(std::make_shared<RbacNetworkFilter>(shared));
    };
  }
};

const config::RegisterFactory<RbacNetworkFilterConfigFactory, config::NetworkFilterConfigFactory>
    registered;

}  // namespace
}  // namespace remora::filters::rbac
