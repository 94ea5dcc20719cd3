// Registers `remora.filters.http.router`.

#include "filters/http/router/router.h"
#include "filters/http/router/upstream_request.h"
#include "remora/extensions/filters/http/router/v1/router.pb.h"
#include "source/common/config/registry.h"
#include "source/interface/config/filter_factory.h"

namespace remora::filters::router {
namespace {

class RouterConfigFactory : public config::HttpFilterConfigFactory {
 public:
  std::string name() const override { return "remora.filters.http.router"; }
  std::unique_ptr<google::protobuf::Message> createEmptyConfig() const override {
    return std::make_unique<extensions::filters::http::router::v1::Router>();
  }
  bool isTerminal() const override { return true; }
  http::FilterFactoryCb createFilterFactory(const google::protobuf::Message&, const std::string&,
                                            config::FactoryContext&,
                                            config::Errors&) const override {
    return [](http::FilterChainFactoryCallbacks& callbacks) {
      callbacks.addDecoderFilter(std::make_shared<RouterFilter>());
    };
  }
};

const config::RegisterFactory<RouterConfigFactory, config::HttpFilterConfigFactory> registered;

}  // namespace
}  // namespace remora::filters::router
