// Registers `remora.filters.http.rbac`: compiles the policies once per filter config (shared
// by every worker) and adds a filter instance to each stream.

#include "filters/http/rbac/rbac_http_filter.h"
#include "filters/network/rbac/rbac_filter_config.h"
#include "source/common/config/registry.h"
#include "source/interface/config/filter_factory.h"

namespace remora::filters::rbac {
namespace {

class RbacHttpFilterConfigFactory : public config::HttpFilterConfigFactory {
 public:
  std::string name() const override { return "remora.filters.http.rbac"; }
  std::unique_ptr<google::protobuf::Message> createEmptyConfig() const override {
    return std::make_unique<ProtoConfig>();
  }
  bool isTerminal() const override { return false; }

  http::FilterFactoryCb createFilterFactory(const google::protobuf::Message& message,
                                            const std::string& path,
                                            config::FactoryContext& context,
                                            config::Errors& errors) const override {
    auto shared = RbacFilterConfig::create(static_cast<const ProtoConfig&>(message),
                                           RbacFilterConfig::Kind::kHttp, path,
                                           context.listenerName(), context.stats(), errors);
    if (!shared) return nullptr;
    return [shared](http::FilterChainFactoryCallbacks& callbacks) {
      callbacks.addDecoderFilter(std::make_shared<RbacHttpFilter>(*shared));
    };
  }
};

const config::RegisterFactory<RbacHttpFilterConfigFactory, config::HttpFilterConfigFactory>
    registered;

}  // namespace
}  // namespace remora::filters::rbac
