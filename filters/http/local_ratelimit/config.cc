// Registers `remora.filters.http.local_ratelimit`.

#include "filters/http/local_ratelimit/local_ratelimit_filter.h"
#include "remora/extensions/filters/http/local_ratelimit/v1/local_ratelimit.pb.h"
#include "source/common/config/registry.h"
#include "source/interface/config/filter_factory.h"

namespace remora::filters::local_ratelimit {
namespace {

class LocalRateLimitConfigFactory : public config::HttpFilterConfigFactory {
 public:
  std::string name() const override { return "remora.filters.http.local_ratelimit"; }
  std::unique_ptr<google::protobuf::Message> createEmptyConfig() const override {
    return std::make_unique<extensions::filters::http::local_ratelimit::v1::LocalRateLimit>();
  }
  bool isTerminal() const override { return false; }
  http::FilterFactoryCb createFilterFactory(const google::protobuf::Message&, const std::string&,
                                            config::FactoryContext& context,
                                            config::Errors&) const override {
    auto stats = std::make_shared<RateLimitStats>();
    stats::Labels labels{{"listener", context.listenerName()}};
    stats->limited = &context.stats().counter("remora_http_local_rate_limited_total",
                                              "Requests refused by a local rate limit.", labels);
    stats->allowed = &context.stats().counter("remora_http_local_rate_limit_allowed_total",
                                              "Requests a local rate limit let through.", labels);
    return [stats](http::FilterChainFactoryCallbacks& callbacks) {
      callbacks.addDecoderFilter(std::make_shared<LocalRateLimitFilter>(*stats));
    };
  }
};

const config::RegisterFactory<LocalRateLimitConfigFactory, config::HttpFilterConfigFactory>
    registered;

}  // namespace
}  // namespace remora::filters::local_ratelimit
