// Building the runtime snapshot: filter lookup by name, typed_config type checks, terminal
// filter placement, and each filter's own validation, all reported with field paths.

#include "source/server/config_snapshot.h"

#include <google/protobuf/util/json_util.h>

#include "gtest/gtest.h"
#include "source/common/stats/store_impl.h"

namespace remora::server {
namespace {

using config::bootstrap::v1::Bootstrap;

constexpr char kTcpProxyType[] =
    "type.googleapis.com/remora.extensions.filters.network.tcp_proxy.v1.TcpProxy";

std::string tcpProxy(const std::string& cluster) {
  return R"({"name": "remora.filters.network.tcp_proxy", "typed_config": {"@type": ")" +
         std::string(kTcpProxyType) + R"(", "cluster": ")" + cluster + R"("}})";
}

std::string bootstrapJson(const std::string& filters, const std::string& listener_extra = "") {
  return R"({"static_resources": {
    "listeners": [{"name": "in", "address": {"socket_address": {"address": "127.0.0.1",
      "port_value": 0}}, )" +
         listener_extra + R"( "filter_chains": [{"filters": [)" + filters + R"(]}]}],
    "clusters": [{"name": "backend", "load_assignment": {"endpoints": [{"lb_endpoints": [
      {"endpoint": {"address": {"socket_address": {"address": "127.0.0.1",
        "port_value": 9000}}}, "load_balancing_weight": 3}]}]}}]}})";
}

class ConfigSnapshotTest : public ::testing::Test {
 protected:
  ConfigSnapshotConstSharedPtr build(const std::string& json) {
    Bootstrap bootstrap;
    auto status = google::protobuf::util::JsonStringToMessage(json, &bootstrap);
    EXPECT_TRUE(status.ok()) << status.ToString();
    return buildConfigSnapshot(bootstrap, store_, errors_);
  }
  stats::StoreImpl store_;
  config::Errors errors_;
};

TEST_F(ConfigSnapshotTest, BuildsListenersAndClusters) {
  auto snapshot = build(bootstrapJson(tcpProxy("backend")));
  ASSERT_NE(snapshot, nullptr) << errors_.joined();
  ASSERT_EQ(snapshot->listeners.size(), 1u);
  EXPECT_EQ(snapshot->listeners[0]->name, "in");
  EXPECT_EQ(snapshot->listeners[0]->buffer_limit, 1024u * 1024);
  EXPECT_EQ(snapshot->listeners[0]->listener_filters_timeout, std::chrono::seconds(15));
  ASSERT_EQ(snapshot->listeners[0]->filter_chains.size(), 1u);
  EXPECT_EQ(snapshot->listeners[0]->filter_chains[0].filter_factories.size(), 1u);
  ASSERT_EQ(snapshot->clusters.size(), 1u);
  EXPECT_EQ(snapshot->clusters[0]->connectTimeout(), std::chrono::seconds(5));
  ASSERT_EQ(snapshot->clusters[0]->hosts().size(), 1u);
  EXPECT_EQ(snapshot->clusters[0]->hosts()[0]->weight, 3u);
  EXPECT_EQ(snapshot->clusters[0]->hosts()[0]->address.asString(), "127.0.0.1:9000");
}

TEST_F(ConfigSnapshotTest, UnknownNetworkFilterNamesTheKnownOnes) {
  EXPECT_EQ(build(bootstrapJson(R"({"name": "remora.filters.network.nope"})")), nullptr);
  ASSERT_EQ(errors_.lines().size(), 1u);
  EXPECT_EQ(errors_.lines()[0],
            "static_resources.listeners[0].filter_chains[0].filters[0].name: unknown network "
            "filter \"remora.filters.network.nope\" (known: remora.filters.network.tcp_proxy)");
}

TEST_F(ConfigSnapshotTest, TypedConfigOfAnotherTypeIsRejected) {
  std::string filter = R"({"name": "remora.filters.network.tcp_proxy", "typed_config": {
      "@type": "type.googleapis.com/remora.config.core.v1.SocketAddress", "address": "x"}})";
  EXPECT_EQ(build(bootstrapJson(filter)), nullptr);
  ASSERT_EQ(errors_.lines().size(), 1u);
  EXPECT_EQ(errors_.lines()[0],
            "static_resources.listeners[0].filter_chains[0].filters[0].typed_config: \"@type\" is "
            "\"type.googleapis.com/remora.config.core.v1.SocketAddress\" but filter "
            "\"remora.filters.network.tcp_proxy\" takes \"" +
                std::string(kTcpProxyType) + "\"");
}

TEST_F(ConfigSnapshotTest, TcpProxyToUnknownClusterIsRejected) {
  EXPECT_EQ(build(bootstrapJson(tcpProxy("missing"))), nullptr);
  ASSERT_EQ(errors_.lines().size(), 1u);
  EXPECT_EQ(errors_.lines()[0],
            "static_resources.listeners[0].filter_chains[0].filters[0].typed_config.cluster: "
            "unknown cluster \"missing\"");
}

TEST_F(ConfigSnapshotTest, TcpProxyWithoutConfigNeedsACluster) {
  EXPECT_EQ(build(bootstrapJson(R"({"name": "remora.filters.network.tcp_proxy"})")), nullptr);
  ASSERT_EQ(errors_.lines().size(), 1u);
  EXPECT_EQ(errors_.lines()[0],
            "static_resources.listeners[0].filter_chains[0].filters[0].typed_config.cluster: must "
            "name a cluster");
}

TEST_F(ConfigSnapshotTest, TerminalFilterMustBeLast) {
  EXPECT_EQ(build(bootstrapJson(tcpProxy("backend") + "," + tcpProxy("backend"))), nullptr);
  ASSERT_EQ(errors_.lines().size(), 1u);
  EXPECT_EQ(errors_.lines()[0],
            "static_resources.listeners[0].filter_chains[0].filters[0].name: "
            "\"remora.filters.network.tcp_proxy\" is a terminal filter and must be last in the "
            "chain");
}

TEST_F(ConfigSnapshotTest, EveryErrorIsReported) {
  std::string filters = R"({"name": "a"}, )" + tcpProxy("missing");
  EXPECT_EQ(build(bootstrapJson(filters)), nullptr);
  EXPECT_EQ(errors_.lines().size(), 2u) << errors_.joined();
}

TEST_F(ConfigSnapshotTest, ListenerFilterIsResolved) {
  std::string listener_filters = R"("listener_filters": [{"name":
      "remora.filters.listener.original_dst", "typed_config": {"@type":
      "type.googleapis.com/remora.extensions.filters.listener.original_dst.v1.OriginalDst"}}],
      "listener_filters_timeout": "0.5s",)";
  auto snapshot = build(bootstrapJson(tcpProxy("backend"), listener_filters));
  ASSERT_NE(snapshot, nullptr) << errors_.joined();
  EXPECT_EQ(snapshot->listeners[0]->listener_filters.size(), 1u);
  EXPECT_EQ(snapshot->listeners[0]->listener_filters_timeout, std::chrono::milliseconds(500));
}

TEST_F(ConfigSnapshotTest, UnknownListenerFilterIsRejected) {
  EXPECT_EQ(build(bootstrapJson(tcpProxy("backend"), R"("listener_filters": [{"name": "x"}],)")),
            nullptr);
  ASSERT_EQ(errors_.lines().size(), 1u);
  EXPECT_EQ(errors_.lines()[0],
            "static_resources.listeners[0].listener_filters[0].name: unknown listener filter \"x\" "
            "(known: remora.filters.listener.original_dst)");
}

// What a connection to `ip`:`port` matches with, after detection found the rest.
struct Probe {
  network::Address destination;
  std::string transport;
  std::string sni;
  std::vector<std::string> alpn;
  ConnectionMatchInfo info() const { return {destination, transport, sni, alpn}; }
};

Probe to(const char* ip, uint16_t port, std::string transport = "", std::string sni = "",
         std::vector<std::string> alpn = {}) {
  return {*network::Address::fromIpPort(ip, port), std::move(transport), std::move(sni),
          std::move(alpn)};
}

std::string chosen(const ListenerConfig& listener, const Probe& probe) {
  const FilterChainConfig* chain = listener.matchFilterChain(probe.info());
  return chain ? chain->name : "(none)";
}

TEST(FilterChainMatchTest, FirstMatchingChainWins) {
  ListenerConfig listener;
  listener.filter_chains.resize(3);
  listener.filter_chains[0].name = "port_80";
  listener.filter_chains[0].destination_port = 80;
  listener.filter_chains[1].name = "port_443";
  listener.filter_chains[1].destination_port = 443;
  listener.filter_chains[2].name = "any";
  EXPECT_EQ(chosen(listener, to("10.0.0.1", 443)), "port_443");
  EXPECT_EQ(chosen(listener, to("10.0.0.1", 80)), "port_80");
  EXPECT_EQ(chosen(listener, to("10.0.0.1", 8080)), "any");
  listener.filter_chains.pop_back();
  EXPECT_EQ(chosen(listener, to("10.0.0.1", 8080)), "(none)");
}

TEST(FilterChainMatchTest, DetectedProtocolsSelectChains) {
  ListenerConfig listener;
  listener.filter_chains.resize(5);
  auto& sni = listener.filter_chains[0];
  sni.name = "sni";
  sni.destination_port = 443;
  sni.transport_protocol = "tls";
  sni.server_names = {"api.example.com", "*.apps.example"};
  auto& h2 = listener.filter_chains[1];
  h2.name = "tls_h2";
  h2.transport_protocol = "tls";
  h2.application_protocols = {"h2"};
  auto& http = listener.filter_chains[2];
  http.name = "http";
  http.application_protocols = {"http/1.0", "http/1.1", "h2c"};
  auto& raw = listener.filter_chains[3];
  raw.name = "raw";
  raw.transport_protocol = "raw_buffer";
  listener.filter_chains[4].name = "rest";
  EXPECT_EQ(chosen(listener, to("1.2.3.4", 443, "tls", "api.example.com")), "sni");
  EXPECT_EQ(chosen(listener, to("1.2.3.4", 443, "tls", "a.b.apps.example")), "sni");
  // A wildcard needs at least one label in front; other ports miss the chain.
  EXPECT_EQ(chosen(listener, to("1.2.3.4", 443, "tls", "apps.example")), "rest");
  EXPECT_EQ(chosen(listener, to("1.2.3.4", 8443, "tls", "api.example.com")), "rest");
  EXPECT_EQ(chosen(listener, to("1.2.3.4", 8443, "tls", "x", {"http/1.1", "h2"})), "tls_h2");
  EXPECT_EQ(chosen(listener, to("1.2.3.4", 80, "raw_buffer", "", {"h2c"})), "http");
  EXPECT_EQ(chosen(listener, to("1.2.3.4", 80, "raw_buffer", "", {"http/1.0"})), "http");
  // Not inspected counts as raw_buffer.
  EXPECT_EQ(chosen(listener, to("1.2.3.4", 6379)), "raw");
  EXPECT_EQ(chosen(listener, to("1.2.3.4", 6379, "tls")), "rest");
}

TEST(FilterChainMatchTest, DetectionIsNeededOnlyWhenTheDestinationDoesNotDecide) {
  ListenerConfig listener;
  listener.filter_chains.resize(3);
  listener.filter_chains[0].name = "svc_tcp";
  listener.filter_chains[0].destination_port = 5000;
  listener.filter_chains[0].prefix_ranges.push_back(*CidrRange::parse("10.96.0.5", std::nullopt));
  listener.filter_chains[1].name = "http_any";
  listener.filter_chains[1].application_protocols = {"http/1.1"};
  listener.filter_chains[2].name = "rest";
  EXPECT_FALSE(listener.chainDependsOnProtocol(*network::Address::fromIpPort("10.96.0.5", 5000)));
  EXPECT_TRUE(listener.chainDependsOnProtocol(*network::Address::fromIpPort("10.96.0.6", 5000)));
  EXPECT_TRUE(listener.chainDependsOnProtocol(*network::Address::fromIpPort("10.96.0.5", 5001)));
}

TEST_F(ConfigSnapshotTest, BadFilterChainMatchFieldsAreNamed) {
  std::string json = bootstrapJson(tcpProxy("backend"), "");
  std::string match = R"("filter_chain_match": {"server_names": ["ok.example", "a.*.example", "*x"],
                         "transport_protocol": "quic"},)";
  size_t at = json.find("\"filters\"");
  ASSERT_NE(at, std::string::npos);
  json.insert(at, match);
  EXPECT_EQ(build(json), nullptr);
  std::string all = errors_.joined();
  EXPECT_NE(all.find("filter_chains[0].filter_chain_match.server_names[1]: \"a.*.example\" is not "
                     "a host name or a leading wildcard"),
            std::string::npos)
      << all;
  EXPECT_NE(all.find("filter_chain_match.server_names[2]"), std::string::npos) << all;
  EXPECT_NE(all.find("filter_chain_match.transport_protocol: \"quic\" is not \"tls\" or "
                     "\"raw_buffer\""),
            std::string::npos)
      << all;
}

TEST_F(ConfigSnapshotTest, HandshakeTimeoutDefaultsToTenSecondsPerChain) {
  auto snapshot = build(bootstrapJson(tcpProxy("backend")));
  ASSERT_NE(snapshot, nullptr) << errors_.joined();
  EXPECT_EQ(snapshot->listeners[0]->filter_chains[0].handshake_timeout, std::chrono::seconds(10));
}

TEST_F(ConfigSnapshotTest, HandshakeTimeoutIsSetPerChainAndZeroDisablesIt) {
  std::string json = bootstrapJson(tcpProxy("backend"));
  size_t at = json.find("\"filters\"");
  ASSERT_NE(at, std::string::npos);
  auto with = [&](const std::string& timeout) {
    std::string copy = json;
    copy.insert(at, R"("transport_socket_connect_timeout": ")" + timeout + R"(", )");
    return copy;
  };
  auto snapshot = build(with("1.5s"));
  ASSERT_NE(snapshot, nullptr) << errors_.joined();
  EXPECT_EQ(snapshot->listeners[0]->filter_chains[0].handshake_timeout,
            std::chrono::milliseconds(1500));
  snapshot = build(with("0s"));
  ASSERT_NE(snapshot, nullptr) << errors_.joined();
  EXPECT_EQ(snapshot->listeners[0]->filter_chains[0].handshake_timeout,
            std::chrono::milliseconds(0));
  EXPECT_EQ(build(with("-1s")), nullptr);
  EXPECT_NE(errors_.joined().find(
                "static_resources.listeners[0].filter_chains[0].transport_socket_connect_timeout: "
                "must not be negative"),
            std::string::npos)
      << errors_.joined();
}

}  // namespace
}  // namespace remora::server
