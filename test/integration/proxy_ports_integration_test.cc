// The real remora process protecting its own ports (issue 14): an ORIGINAL_DST passthrough
// whose destination is the proxy's own listener is refused instead of looping (tcp_proxy and
// the HTTP router, a listener on 127.0.0.1 and one on 0.0.0.0); inbound clusters connect from
// their upstream_bind_config source address; a `local_clients_only` listener serves local
// clients; and admin answers POST (e.g. /quitquitquit) only to loopback clients, even when
// bound to 0.0.0.0. Capture itself is covered by test/sidecar and the mini-cluster tests.

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "gtest/gtest.h"
#include "test/integration/proxy_process.h"

namespace remora::test {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

constexpr const char* kHcmType =
    "type.googleapis.com/"
    "remora.extensions.filters.network.http_connection_manager.v1.HttpConnectionManager";
constexpr const char* kTcpType =
    "type.googleapis.com/remora.extensions.filters.network.tcp_proxy.v1.TcpProxy";

std::string tcpChain(const std::string& cluster) {
  return std::string(R"(
    - filters:
      - name: remora.filters.network.tcp_proxy
        typed_config: {"@type": )") +
         kTcpType + ", stat_prefix: " + cluster + ", cluster: " + cluster + "}\n";
}

std::string httpChain(const std::string& cluster) {
  return std::string(R"(
    - filters:
      - name: remora.filters.network.http_connection_manager
        typed_config:
          "@type": )") +
         kHcmType + R"(
          stat_prefix: http
          route_config:
            virtual_hosts:
            - name: all
              domains: ["*"]
              routes: [{match: {prefix: /}, route: {cluster: )" +
         cluster + R"(}}]
          http_filters: [{name: remora.filters.http.router}]
)";
}

// Without the original_dst listener filter a connection's destination is the listener's own
// address: passed through by an ORIGINAL_DST cluster, it would come straight back in (what a
// connection from another pod to POD_IP:15006 did before capture redirected it).
std::string loopConfig(const std::string& extra_clusters = "") {
  return std::string(R"(
admin:
  address: {socket_address: {address: 127.0.0.1, port_value: 0}}
static_resources:
  listeners:
  - name: tcp_loop
    address: {socket_address: {address: 127.0.0.1, port_value: 0}}
    filter_chains:)") +
         tcpChain("passthrough") + R"(
  - name: wildcard_loop
    address: {socket_address: {address: 0.0.0.0, port_value: 0}}
    filter_chains:)" +
         tcpChain("passthrough") + R"(
  - name: http_loop
    address: {socket_address: {address: 127.0.0.1, port_value: 0}}
    filter_chains:)" +
         httpChain("passthrough") + R"(
  clusters:
  - name: passthrough
    type: ORIGINAL_DST
    connect_timeout: 1s
)" + extra_clusters;
}

double metricOr0(const ProxyProcess& proxy, const std::string& sample) {
  return proxy.metric(sample).value_or(0);
}

// The first IPv4 address of a non-loopback interface ("" when the host has none).
std::string nonLoopbackIpv4() {
  ifaddrs* list = nullptr;
  if (::getifaddrs(&list) != 0) return "";
  std::string found;
  for (ifaddrs* entry = list; entry != nullptr && found.empty(); entry = entry->ifa_next) {
    if (entry->ifa_addr == nullptr || entry->ifa_addr->sa_family != AF_INET) continue;
    auto* sin = reinterpret_cast<sockaddr_in*>(entry->ifa_addr);
    if ((ntohl(sin->sin_addr.s_addr) >> 24) == 127) continue;
    char text[INET_ADDRSTRLEN];
    inet_ntop(AF_INET, &sin->sin_addr, text, sizeof(text));
    found = text;
  }
  ::freeifaddrs(list);
  return found;
}

TEST(ProxyPortsIntegrationTest, PassthroughToItsOwnListenerIsRefusedWithoutALoop) {
  ProxyProcess proxy;
  std::string error;
  ASSERT_TRUE(proxy.start(loopConfig(), {"--concurrency", "2"}, error)) << error;
  uint16_t tcp_port = proxy.listenerPort("tcp_loop");
  uint16_t wildcard_port = proxy.listenerPort("wildcard_loop");
  uint16_t http_port = proxy.listenerPort("http_loop");

  // tcp_proxy: the client is closed at once, and nothing was connected.
  for (uint16_t port : {tcp_port, wildcard_port}) {
    int fd = connectLoopback(port);
    ASSERT_GE(fd, 0);
    bool eof = false;
    recvUntilClosed(fd, seconds(5), &eof);
    EXPECT_TRUE(eof) << "port " << port;
    ::close(fd);
  }
  std::string own_ip = nonLoopbackIpv4();
  if (!own_ip.empty()) {
    // The wildcard listener owns its port on every local address, not only loopback.
    int fd = connectTo(own_ip, wildcard_port);
    ASSERT_GE(fd, 0);
    bool eof = false;
    recvUntilClosed(fd, seconds(5), &eof);
    EXPECT_TRUE(eof);
    ::close(fd);
  }
  // The HTTP router: no host, 503.
  HttpResponse response = httpRequest("127.0.0.1:" + std::to_string(http_port), "GET", "/");
  EXPECT_EQ(response.status, 503);

  double refused = own_ip.empty() ? 3 : 4;
  EXPECT_TRUE(waitFor([&] {
    return metricOr0(proxy,
                     "remora_cluster_upstream_self_connections_refused_total{cluster="
                     "\"passthrough\"}") == refused;
  })) << proxy.log();
  // No loop: exactly the connections the test made, none of the proxy's own.
  EXPECT_EQ(metricOr0(proxy, "remora_cluster_upstream_connections_total{cluster=\"passthrough\"}"),
            0);
  double accepted = 0;
  for (const char* name : {"tcp_loop", "wildcard_loop", "http_loop"}) {
    accepted +=
        metricOr0(proxy, std::string("remora_listener_downstream_connections_total{listener=\"") +
                             name + "\"}");
  }
  EXPECT_EQ(accepted, refused);
  EXPECT_EQ(proxy.admin("GET", "/ready").status, 200);
}

// A cluster with upstream_bind_config connects from that address (127.0.0.6, as the inbound
// clusters pilot makes); another passthrough destination is still served.
TEST(ProxyPortsIntegrationTest, ClusterConnectsFromItsBindAddress) {
  uint16_t app_port = 0;
  int app = listenOn("127.0.0.1", app_port);
  ASSERT_GE(app, 0);
  std::string clusters =
      "  - name: app\n"
      "    upstream_bind_config: {source_address: {address: 127.0.0.6}}\n"
      "    load_assignment: {endpoints: [{lb_endpoints: [{endpoint: {address: "
      "{socket_address: {address: 127.0.0.1, port_value: " +
      std::to_string(app_port) + "}}}}]}]}\n";
  std::string config = loopConfig(clusters);
  // One more listener to the app cluster.
  config.replace(config.find("  clusters:"), 0,
                 "  - name: to_app\n"
                 "    address: {socket_address: {address: 127.0.0.1, port_value: 0}}\n"
                 "    filter_chains:" +
                     tcpChain("app"));
  ProxyProcess proxy;
  std::string error;
  ASSERT_TRUE(proxy.start(config, {"--concurrency", "1"}, error)) << error;
  int client = connectLoopback(proxy.listenerPort("to_app"));
  ASSERT_GE(client, 0);
  pollfd pfd{app, POLLIN, 0};
  ASSERT_EQ(::poll(&pfd, 1, 5000), 1) << proxy.log();
  sockaddr_in peer{};
  socklen_t len = sizeof(peer);
  int upstream = ::accept(app, reinterpret_cast<sockaddr*>(&peer), &len);
  ASSERT_GE(upstream, 0);
  char text[INET_ADDRSTRLEN];
  inet_ntop(AF_INET, &peer.sin_addr, text, sizeof(text));
  EXPECT_STREQ(text, "127.0.0.6");
  ASSERT_TRUE(sendAll(client, "ping"));
  EXPECT_EQ(recvExactly(upstream, 4, seconds(5)), "ping");
  ::close(upstream);
  ::close(client);
  ::close(app);
}

// `local_clients_only` serves clients on local addresses (the pod itself); the refusal of
// foreign ones needs another host or namespace (test/e2e), the decision is unit-tested in
// test/common/network/local_addresses_test.
TEST(ProxyPortsIntegrationTest, LocalClientsOnlyListenerServesLocalClients) {
  uint16_t app_port = 0;
  int app = listenOn("127.0.0.1", app_port);
  ASSERT_GE(app, 0);
  std::string config = std::string(R"(
admin:
  address: {socket_address: {address: 127.0.0.1, port_value: 0}}
static_resources:
  listeners:
  - name: outbound
    address: {socket_address: {address: 0.0.0.0, port_value: 0}}
    local_clients_only: true
    filter_chains:)") + tcpChain("app") +
                       "  clusters:\n  - name: app\n"
                       "    load_assignment: {endpoints: [{lb_endpoints: [{endpoint: {address: "
                       "{socket_address: {address: 127.0.0.1, port_value: " +
                       std::to_string(app_port) + "}}}}]}]}\n";
  ProxyProcess proxy;
  std::string error;
  ASSERT_TRUE(proxy.start(config, {"--concurrency", "1"}, error)) << error;
  uint16_t port = proxy.listenerPort("outbound");
  std::vector<std::string> sources = {"127.0.0.1"};
  if (!nonLoopbackIpv4().empty()) sources.push_back(nonLoopbackIpv4());
  for (const auto& ip : sources) {
    int client = connectTo(ip, port);
    ASSERT_GE(client, 0);
    pollfd pfd{app, POLLIN, 0};
    ASSERT_EQ(::poll(&pfd, 1, 5000), 1) << ip << ": " << proxy.log();
    int upstream = ::accept(app, nullptr, nullptr);
    ASSERT_GE(upstream, 0);
    ASSERT_TRUE(sendAll(client, "hi"));
    EXPECT_EQ(recvExactly(upstream, 2, seconds(5)), "hi");
    ::close(upstream);
    ::close(client);
  }
  EXPECT_EQ(
      metricOr0(proxy, "remora_listener_non_local_clients_refused_total{listener=\"outbound\"}"),
      0);
}

// Admin bound to 0.0.0.0 (as it was in pods): a client reaching it on a non-loopback address
// gets 403 for POST /quitquitquit and the proxy stays up; from 127.0.0.1 it works.
TEST(ProxyPortsIntegrationTest, AdminChangesStateOnlyForLoopbackClients) {
  std::string own_ip = nonLoopbackIpv4();
  if (own_ip.empty()) GTEST_SKIP() << "no non-loopback IPv4 address on this host";
  ProxyProcess proxy;
  std::string error;
  ASSERT_TRUE(proxy.start(R"(
admin:
  address: {socket_address: {address: 0.0.0.0, port_value: 0}}
)",
                          {"--concurrency", "1"}, error))
      << error;
  std::string port = proxy.adminAddress().substr(proxy.adminAddress().rfind(':') + 1);
  std::string remote = own_ip + ":" + port;
  for (const char* path : {"/quitquitquit", "/logging?level=trace"}) {
    HttpResponse refused = httpRequest(remote, "POST", path);
    EXPECT_EQ(refused.status, 403) << path;
    EXPECT_NE(refused.body.find("only to clients on a loopback address"), std::string::npos)
        << refused.body;
  }
  // Reads stay open; the proxy is still up and its log level unchanged.
  EXPECT_EQ(httpRequest(remote, "GET", "/ready").status, 200);
  EXPECT_EQ(httpRequest(remote, "GET", "/logging").body, "level: info\n");
  EXPECT_FALSE(proxy.waitExit(milliseconds(200)).has_value());
  HttpResponse local = httpRequest("127.0.0.1:" + port, "POST", "/quitquitquit");
  EXPECT_EQ(local.status, 200);
  EXPECT_EQ(proxy.waitExit(seconds(5)), 0) << proxy.log();
}

}  // namespace
}  // namespace remora::test
