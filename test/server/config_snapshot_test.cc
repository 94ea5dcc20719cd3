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

TEST(FilterChainMatchTest, FirstMatchingChainWins) {
  ListenerConfig listener;
  listener.filter_chains.resize(3);
  listener.filter_chains[0].name = "port_80";
  listener.filter_chains[0].destination_port = 80;
  listener.filter_chains[1].name = "port_443";
  listener.filter_chains[1].destination_port = 443;
  listener.filter_chains[2].name = "any";
  EXPECT_EQ(listener.matchFilterChain(*network::Address::fromIpPort("10.0.0.1", 443))->name,
            "port_443");
  EXPECT_EQ(listener.matchFilterChain(*network::Address::fromIpPort("10.0.0.1", 80))->name,
            "port_80");
  EXPECT_EQ(listener.matchFilterChain(*network::Address::fromIpPort("10.0.0.1", 8080))->name,
            "any");
  listener.filter_chains.pop_back();
  EXPECT_EQ(listener.matchFilterChain(*network::Address::fromIpPort("10.0.0.1", 8080)), nullptr);
}

}  // namespace
}  // namespace remora::server
