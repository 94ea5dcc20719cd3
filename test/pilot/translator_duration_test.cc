// Istio durations become exact protobuf Durations: parsed in integers, so "2.3s" is 2300 ms and
// not 2299.999... (as it was through a double).

#include "gtest/gtest.h"
#include "remora/config/route/v1/route.pb.h"
#include "source/pilot/translator.h"

namespace remora::pilot {
namespace {

// The timeout of the route a VirtualService with `timeout` gives, as seconds and nanos.
std::pair<int64_t, int32_t> routeTimeout(const std::string& timeout) {
  std::vector<Object> objects;
  std::vector<ManifestError> errors;
  parseManifestText("t.yaml",
                    "apiVersion: v1\nkind: Service\nmetadata: {name: r, namespace: default}\n"
                    "spec: {clusterIP: 10.96.0.1, ports: [{name: http, port: 80}]}\n---\n"
                    "apiVersion: networking.istio.io/v1\nkind: VirtualService\n"
                    "metadata: {name: r, namespace: default}\n"
                    "spec: {hosts: [r], http: [{route: [{destination: {host: r}}], timeout: \"" +
                        timeout + "\"}]}\n",
                    objects, errors);
  Translator translator(objects, TranslateOptions{});
  EXPECT_TRUE(translator.errors().empty()) << translator.errors()[0].message;
  config::route::v1::RouteConfiguration routes;
  EXPECT_TRUE(translator.translate("default").routes.at("80").UnpackTo(&routes));
  for (const auto& host : routes.virtual_hosts()) {
    for (const auto& route : host.routes()) {
      if (route.route().has_timeout()) {
        return {route.route().timeout().seconds(), route.route().timeout().nanos()};
      }
    }
  }
  ADD_FAILURE() << "no route with a timeout";
  return {};
}

TEST(TranslatorDurationTest, DurationsAreExact) {
  EXPECT_EQ(routeTimeout("2.3s"), std::make_pair(int64_t{2}, 300000000));
  EXPECT_EQ(routeTimeout("0.1s"), std::make_pair(int64_t{0}, 100000000));
  EXPECT_EQ(routeTimeout("1.5m"), std::make_pair(int64_t{90}, 0));
  EXPECT_EQ(routeTimeout("0.001h"), std::make_pair(int64_t{3}, 600000000));
  EXPECT_EQ(routeTimeout("2500ms"), std::make_pair(int64_t{2}, 500000000));
  EXPECT_EQ(routeTimeout("1.25ms"), std::make_pair(int64_t{0}, 1250000));
  EXPECT_EQ(routeTimeout("1500000us"), std::make_pair(int64_t{1}, 500000000));
  EXPECT_EQ(routeTimeout("0.7us"), std::make_pair(int64_t{0}, 700));
}

}  // namespace
}  // namespace remora::pilot
