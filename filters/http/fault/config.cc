// Registers `remora.filters.http.fault`.

#include "filters/http/fault/fault_filter.h"
#include "remora/extensions/filters/http/fault/v1/fault.pb.h"
#include "source/common/config/registry.h"
#include "source/interface/config/filter_factory.h"

namespace remora::filters::fault {
namespace {

class FaultConfigFactory : public config::HttpFilterConfigFactory {
 public:
  std::string name() const override { return "remora.filters.http.fault"; }
  std::unique_ptr<google::protobuf::Message> createEmptyConfig() const override {
    return std::make_unique<extensions::filters::http::fault::v1::Fault>();
  }
  bool isTerminal() const override { return false; }
  http::FilterFactoryCb createFilterFactory(const google::protobuf::Message&, const std::string&,
                                            config::FactoryContext& context,
                                            config::Errors&) const override {
    auto stats = std::make_shared<FaultStats>();
    stats::Labels labels{{"listener", context.listenerName()}};
    stats->delays = &context.stats().counter("remora_http_fault_delays_injected_total",
                                             "Requests delayed by the fault filter.", labels);
    stats->aborts = &context.stats().counter("remora_http_fault_aborts_injected_total",
                                             "Requests aborted by the fault filter.", labels);
    return [stats](http::FilterChainFactoryCallbacks& callbacks) {
      callbacks.addDecoderFilter(std::make_shared<FaultFilter>(*stats));
    };
  }
};

const config::RegisterFactory<FaultConfigFactory, config::HttpFilterConfigFactory> registered;

}  // namespace
}  // namespace remora::filters::fault
