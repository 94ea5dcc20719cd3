// The real remora process with a mesh-wide route configuration: services named only by their
// full names, host_search_suffixes with "%NAMESPACE%", and a node in namespace "default".
// curl's short Host headers must reach the service a pod's resolver would pick, whether the
// route configuration is inside a static listener, comes from a watched RDS file, or is inside
// a listener from discovery; misses go to "*".

#include "gtest/gtest.h"
#include "test/integration/fake_http_upstream.h"
#include "test/integration/proxy_process.h"

namespace remora::test {
namespace {

constexpr const char* kRouteType = "type.googleapis.com/remora.config.route.v1.RouteConfiguration";
constexpr const char* kListenerType = "type.googleapis.com/remora.config.listener.v1.Listener";

// The body of a RouteConfiguration (indented by `indent`) sending each service to its cluster.
std::string meshRoutes(const std::string& indent) {
  std::string lines[] = {
      "host_search_suffixes: [\"%NAMESPACE%.svc.cluster.local\", \"svc.cluster.local\", "
      "\"cluster.local\"]",
      "virtual_hosts:",
      "- name: reviews_default",
      "  domains: [reviews.default.svc.cluster.local, \"reviews.default.svc.cluster.local:8080\"]",
      "  routes: [{match: {prefix: /}, route: {cluster: reviews_default}}]",
      "- name: reviews_other",
      "  domains: [reviews.other.svc.cluster.local, \"reviews.other.svc.cluster.local:8080\"]",
      "  routes: [{match: {prefix: /}, route: {cluster: reviews_other}}]",
      "- name: everything_else",
      "  domains: [\"*\"]",
      "  routes: [{match: {prefix: /}, route: {cluster: fallback}}]",
  };
  std::string out;
  for (const auto& line : lines) out += indent + line + "\n";
  return out;
}

std::string cluster(const std::string& name, uint16_t port) {
  return "  - name: " + name +
         "\n    load_assignment: {endpoints: [{lb_endpoints: [{endpoint: {address: "
         "{socket_address: {address: 127.0.0.1, port_value: " +
         std::to_string(port) + "}}}}]}]}\n";
}

std::string hcm(const std::string& stat_prefix, const std::string& routes) {
  return "    filter_chains:\n"
         "    - filters:\n"
         "      - name: remora.filters.network.http_connection_manager\n"
         "        typed_config:\n"
         "          \"@type\": type.googleapis.com/"
         "remora.extensions.filters.network.http_connection_manager.v1.HttpConnectionManager\n"
         "          stat_prefix: " +
         stat_prefix + "\n" + routes +
         "          http_filters: [{name: remora.filters.http.router}]\n";
}

// `text` with the first `drop` characters of each line replaced by `indent`.
std::string indented(const std::string& text, const std::string& indent, size_t drop) {
  std::string out;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    out += indent + text.substr(start + drop, end - start - drop) + "\n";
    start = end + 1;
  }
  return out;
}

class HostSearchIntegrationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const char* names[] = {"reviews_default", "reviews_other", "fallback"};
    for (int i = 0; i < 3; ++i) {
      std::string name = names[i];
      upstreams_[i] = std::make_unique<FakeUpstream>(
          httpServe([name](const FakeRequest&) { return httpResponse(200, name); }));
    }
    std::string dir = makeTempDir();
    writeFile(dir + "/routes.yaml",
              "version_info: r1\nresources:\n- \"@type\": " + std::string(kRouteType) +
                  "\n  name: mesh_routes\n" + meshRoutes("  "));
    std::string bootstrap =
        "node: {id: reviews-client, cluster: test, namespace: default}\n"
        "admin: {address: {socket_address: {address: 127.0.0.1, port_value: 0}}}\n"
        "static_resources:\n"
        "  listeners:\n"
        "  - name: inline_in\n"
        "    address: {socket_address: {address: 127.0.0.1, port_value: 0}}\n" +
        hcm("inline", "          route_config:\n" + meshRoutes("            ")) +
        "  - name: rds_in\n"
        "    address: {socket_address: {address: 127.0.0.1, port_value: 0}}\n" +
        hcm("rds", "          rds: {route_config_name: mesh_routes, config_source: {path: " + dir +
                       "/routes.yaml}}\n") +
        "  clusters:\n" + cluster("reviews_default", upstreams_[0]->port()) +
        cluster("reviews_other", upstreams_[1]->port()) +
        cluster("fallback", upstreams_[2]->port()) +
        "dynamic_resources:\n  lds_config: {path: " + dir + "/listeners.yaml}\n";
    // A listener from discovery whose route configuration is inside it.
    writeFile(dir + "/listeners.yaml",
              "version_info: l1\nresources:\n- \"@type\": " + std::string(kListenerType) +
                  "\n  name: lds_inline_in\n"
                  "  address: {socket_address: {address: 127.0.0.1, port_value: 0}}\n" +
                  indented(hcm("lds", "          route_config:\n" + meshRoutes("            ")),
                           "  ", 4));
    std::string error;
    ASSERT_TRUE(proxy_.start(bootstrap, {"--concurrency", "1"}, error)) << error;
    ASSERT_TRUE(waitFor([&] { return proxy_.listenerPort("lds_inline_in") != 0; })) << proxy_.log();
  }

  // The body the service reached through `listener` with this Host header answers.
  std::string serviceFor(const std::string& listener, const std::string& host) {
    std::string url = "http://127.0.0.1:" + std::to_string(proxy_.listenerPort(listener)) + "/";
    return runCommand({"/usr/bin/curl", "-s", "-m", "10", "-H", "Host: " + host, url}).output;
  }

  std::unique_ptr<FakeUpstream> upstreams_[3];
  ProxyProcess proxy_;
};

TEST_F(HostSearchIntegrationTest, ShortNamesReachTheServiceOfTheProxysNamespace) {
  for (const char* listener : {"inline_in", "rds_in", "lds_inline_in"}) {
    SCOPED_TRACE(listener);
    EXPECT_EQ(serviceFor(listener, "reviews"), "reviews_default");
    EXPECT_EQ(serviceFor(listener, "reviews:8080"), "reviews_default");
    EXPECT_EQ(serviceFor(listener, "reviews.default:8080"), "reviews_default");
    EXPECT_EQ(serviceFor(listener, "reviews.other"), "reviews_other");
    EXPECT_EQ(serviceFor(listener, "reviews.other.svc:8080"), "reviews_other");
    EXPECT_EQ(serviceFor(listener, "reviews.other.svc.cluster.local"), "reviews_other");
  }
}

TEST_F(HostSearchIntegrationTest, MissesGoToTheDefaultVirtualHost) {
  for (const char* listener : {"inline_in", "rds_in", "lds_inline_in"}) {
    SCOPED_TRACE(listener);
    EXPECT_EQ(serviceFor(listener, "ratings"), "fallback");
    EXPECT_EQ(serviceFor(listener, "reviews.nowhere:8080"), "fallback");
    EXPECT_EQ(serviceFor(listener, "127.0.0.1:8080"), "fallback");
  }
}

}  // namespace
}  // namespace remora::test
