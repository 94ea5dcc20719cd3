// The real remora process with STRICT_DNS and LOGICAL_DNS clusters resolved through a fake
// DNS server named in its resolv.conf: hosts follow the records, short names use the search
// path, failures keep the last good addresses and are counted.

#include <fstream>

#include "gtest/gtest.h"
#include "test/common/network/fake_dns_server.h"
#include "test/integration/fake_http_upstream.h"
#include "test/integration/proxy_process.h"

namespace remora::test {
namespace {

using std::chrono::seconds;

class DnsIntegrationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    upstream_ = std::make_unique<FakeUpstream>(
        httpServe([](const FakeRequest&) { return httpResponse(200, "web"); }));
    dns_.add("web.mesh.test", "127.0.0.1", 1);
    dns_.add("logical.mesh.test", "127.0.0.1", 1);
    dns_.add("logical.mesh.test", "127.0.0.5", 1);
    std::string dir = makeTempDir();
    std::ofstream(dir + "/resolv.conf")
        << "nameserver 127.0.0.1:" << dns_.port()
        << "\nsearch mesh.test\noptions ndots:2 timeout:1 attempts:1\n";
    std::string port = std::to_string(upstream_->port());
    std::string config = R"(
admin: {address: {socket_address: {address: 127.0.0.1, port_value: 0}}}
dns_resolv_conf: )" + dir +
                         R"(/resolv.conf
static_resources:
  listeners:
  - name: http_in
    address: {socket_address: {address: 127.0.0.1, port_value: 0}}
    filter_chains:
    - filters:
      - name: remora.filters.network.http_connection_manager
        typed_config:
          "@type": type.googleapis.com/remora.extensions.filters.network.http_connection_manager.v1.HttpConnectionManager
          stat_prefix: dns
          route_config:
            virtual_hosts:
            - name: all
              domains: ["*"]
              routes: [{match: {prefix: /}, route: {cluster: strict}}]
          http_filters: [{name: remora.filters.http.router}]
  clusters:
  - name: strict
    type: STRICT_DNS
    dns_refresh_rate: 0.2s
    dns_lookup_family: V4_ONLY
    load_assignment:
      endpoints:
      - lb_endpoints:
        - endpoint: {address: {socket_address: {address: web, port_value: )" +
                         port + R"(}}}
  - name: logical
    type: LOGICAL_DNS
    dns_refresh_rate: 0.2s
    load_assignment:
      endpoints:
      - lb_endpoints:
        - endpoint: {address: {socket_address: {address: logical.mesh.test., port_value: )" +
                         port + R"(}}}
)";
    std::string error;
    ASSERT_TRUE(proxy_.start(config, {"--concurrency", "2"}, error)) << error;
  }

  std::string clusters() { return proxy_.admin("GET", "/clusters").body; }
  bool hasHost(const std::string& cluster, const std::string& ip) {
    return clusters().find(cluster + "::" + ip + ":" + std::to_string(upstream_->port()) + "::") !=
           std::string::npos;
  }

  network::test::FakeDnsServer dns_;
  std::unique_ptr<FakeUpstream> upstream_;
  ProxyProcess proxy_;
};

TEST_F(DnsIntegrationTest, HostsFollowTheRecords) {
  // "web" has fewer dots than ndots: the search domain makes it web.mesh.test.
  ASSERT_TRUE(waitFor([&] { return hasHost("strict", "127.0.0.1"); })) << clusters();
  std::string address = "127.0.0.1:" + std::to_string(proxy_.listenerPort("http_in"));
  EXPECT_EQ(httpRequest(address, "GET", "/").body, "web");
  // A new record becomes a host at the next refresh.
  dns_.add("web.mesh.test", "127.0.0.3", 1);
  EXPECT_TRUE(waitFor([&] { return hasHost("strict", "127.0.0.3"); })) << clusters();
  EXPECT_TRUE(hasHost("strict", "127.0.0.1"));
  // LOGICAL_DNS: one host, the first address.
  EXPECT_TRUE(hasHost("logical", "127.0.0.1"));
  EXPECT_FALSE(hasHost("logical", "127.0.0.5"));
}

TEST_F(DnsIntegrationTest, FailuresKeepTheLastGoodAddresses) {
  ASSERT_TRUE(waitFor([&] { return hasHost("strict", "127.0.0.1"); })) << clusters();
  dns_.drop("web.mesh.test");
  dns_.clear("web.mesh.test");
  EXPECT_TRUE(waitFor(
      [&] {
        return proxy_
                   .metric(
                       "remora_cluster_dns_resolutions_total{cluster=\"strict\",result="
                       "\"failure\"}")
                   .value_or(0) >= 1;
      },
      seconds(10)));
  EXPECT_TRUE(hasHost("strict", "127.0.0.1"));
  std::string address = "127.0.0.1:" + std::to_string(proxy_.listenerPort("http_in"));
  EXPECT_EQ(httpRequest(address, "GET", "/").body, "web");
  EXPECT_GE(proxy_
                .metric("remora_cluster_dns_resolutions_total{cluster=\"strict\",result="
                        "\"success\"}")
                .value_or(0),
            1);
}

}  // namespace
}  // namespace remora::test
