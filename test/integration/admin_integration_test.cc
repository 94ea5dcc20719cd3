// The admin endpoints of a running remora process, including promtool's lint of its metrics.

#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/json_util.h>
#include <unistd.h>

#include "gtest/gtest.h"
#include "remora/config/bootstrap/v1/bootstrap.pb.h"
#include "remora/extensions/filters/network/tcp_proxy/v1/tcp_proxy.pb.h"
#include "test/integration/configs.h"
#include "test/integration/fake_upstream.h"
#include "test/integration/proxy_process.h"

namespace remora::test {
namespace {

using std::chrono::seconds;

class AdminIntegrationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string error;
    ASSERT_TRUE(proxy_.start(tcpProxyConfig({.endpoints = {{upstream_.port(), 2}}}),
                             {"--concurrency", "2"}, error))
        << error;
  }
  FakeUpstream upstream_{FakeUpstream::echo()};
  ProxyProcess proxy_;
};

TEST_F(AdminIntegrationTest, RootListsEveryEndpoint) {
  auto response = proxy_.admin("GET", "/");
  EXPECT_EQ(response.status, 200);
  for (const char* path : {"/ready", "/config_dump", "/stats/prometheus", "/metrics",
                           "/quitquitquit", "/listeners", "/clusters", "/logging"}) {
    EXPECT_NE(response.body.find(std::string("  ") + path + ":"), std::string::npos) << path;
  }
  EXPECT_EQ(proxy_.admin("GET", "/nope").status, 404);
}

TEST_F(AdminIntegrationTest, LogLevelCanBeReadAndChanged) {
  EXPECT_EQ(proxy_.admin("GET", "/logging").body, "level: info\n");
  EXPECT_EQ(proxy_.admin("POST", "/logging?level=debug").body, "level: debug\n");
  EXPECT_EQ(proxy_.admin("GET", "/logging").body, "level: debug\n");
  auto bad = proxy_.admin("POST", "/logging?level=loud");
  EXPECT_EQ(bad.status, 400);
  EXPECT_NE(bad.body.find("unknown level \"loud\""), std::string::npos);
  EXPECT_EQ(proxy_.admin("GET", "/logging").body, "level: debug\n");
}

TEST_F(AdminIntegrationTest, ReadyIsLive) {
  auto response = proxy_.admin("GET", "/ready");
  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(response.body, "LIVE\n");
}

TEST_F(AdminIntegrationTest, ConfigDumpIsTheRunningConfigAsJson) {
  auto response = proxy_.admin("GET", "/config_dump");
  ASSERT_EQ(response.status, 200);
  EXPECT_NE(response.headers.find("application/json"), std::string::npos);
  // Referenced so the linker keeps the filter's type, which the dump's typed_config names.
  extensions::filters::network::tcp_proxy::v1::TcpProxy filter_type;
  (void)filter_type;
  // {"bootstrap": {...}, "dynamic_clusters": [...], ...}
  google::protobuf::Struct dump;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(response.body, &dump).ok())
      << response.body;
  ASSERT_TRUE(dump.fields().contains("bootstrap"));
  EXPECT_TRUE(dump.fields().contains("dynamic_clusters"));
  EXPECT_TRUE(dump.fields().contains("dynamic_listeners"));
  std::string bootstrap_json;
  ASSERT_TRUE(
      google::protobuf::util::MessageToJsonString(dump.fields().at("bootstrap"), &bootstrap_json)
          .ok());
  config::bootstrap::v1::Bootstrap dumped;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(bootstrap_json, &dumped).ok())
      << bootstrap_json;
  EXPECT_EQ(dumped.node().id(), "test-node");
  ASSERT_EQ(dumped.static_resources().listeners_size(), 1);
  EXPECT_EQ(dumped.static_resources().listeners(0).name(), "tcp_in");
  EXPECT_EQ(dumped.static_resources().clusters(0).name(), "backend");
}

TEST_F(AdminIntegrationTest, ListenersAndClustersShowAddresses) {
  EXPECT_NE(proxy_.listenerPort("tcp_in"), 0);
  auto clusters = proxy_.admin("GET", "/clusters").body;
  std::string host = "backend::127.0.0.1:" + std::to_string(upstream_.port()) + "::";
  EXPECT_EQ(clusters, host + "weight::2\n" + host + "health_flags::healthy\n" + host +
                          "outlier_ejections::0\n" + host + "rq_active::0\n" + host +
                          "rq_total::0\n" + host + "rq_error::0\n");
}

TEST_F(AdminIntegrationTest, MetricsPassPromtoolLint) {
  // Some traffic first, so every family has samples.
  int fd = connectLoopback(proxy_.listenerPort("tcp_in"));
  ASSERT_GE(fd, 0);
  ASSERT_TRUE(sendAll(fd, "abc"));
  ASSERT_EQ(recvExactly(fd, 3, seconds(5)), "abc");
  ::close(fd);

  auto response = proxy_.admin("GET", "/stats/prometheus");
  ASSERT_EQ(response.status, 200);
  EXPECT_NE(response.headers.find("text/plain; version=0.0.4"), std::string::npos);
  EXPECT_EQ(proxy_.admin("GET", "/metrics").status, 200);
  for (const char* family :
       {"remora_listener_downstream_connections_total",
        "remora_listener_downstream_connections_active",
        "remora_listener_downstream_received_bytes_total",
        "remora_listener_downstream_sent_bytes_total", "remora_cluster_upstream_connections_total",
        "remora_cluster_upstream_connections_active",
        "remora_cluster_upstream_connect_failures_total",
        "remora_cluster_upstream_connect_timeouts_total", "remora_server_uptime_seconds",
        "remora_server_workers", "remora_process_resident_memory_bytes"}) {
    EXPECT_NE(response.body.find(std::string("# TYPE ") + family + " "), std::string::npos)
        << family;
  }
  EXPECT_EQ(proxy_.metric("remora_server_workers"), 2.0);
  EXPECT_GT(proxy_.metric("remora_process_resident_memory_bytes").value_or(0), 0.0);

  if (access("/usr/bin/promtool", X_OK) != 0) GTEST_SKIP() << "promtool not installed";
  std::string path = makeTempDir() + "/metrics.txt";
  writeFile(path, response.body);
  auto lint = runCommand({"/bin/sh", "-c", "/usr/bin/promtool check metrics < " + path});
  EXPECT_EQ(lint.exit_code, 0) << lint.output;
  EXPECT_EQ(lint.output, "");
}

}  // namespace
}  // namespace remora::test
