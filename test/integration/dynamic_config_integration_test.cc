// The real remora process with clusters, endpoints, routes and listeners from watched files:
// edits apply to new requests at once, bad resources keep their last good version, removed
// listeners drain instead of cutting connections.

#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <thread>

#include "gtest/gtest.h"
#include "test/integration/fake_http_upstream.h"
#include "test/integration/proxy_process.h"
#include "test/integration/test_certs.h"

namespace remora::test {
namespace {

using std::chrono::seconds;

constexpr const char* kClusterType = "type.googleapis.com/remora.config.cluster.v1.Cluster";
constexpr const char* kEndpointType =
    "type.googleapis.com/remora.config.endpoint.v1.ClusterLoadAssignment";
constexpr const char* kRouteType = "type.googleapis.com/remora.config.route.v1.RouteConfiguration";
constexpr const char* kListenerType = "type.googleapis.com/remora.config.listener.v1.Listener";

// Written whole under another name, then renamed over the old file (as editors and
// Kubernetes ConfigMap updates do).
void writeFile(const std::string& path, const std::string& content) {
  std::string tmp = path + ".tmp";
  std::ofstream(tmp) << content;
  ASSERT_EQ(std::rename(tmp.c_str(), path.c_str()), 0);
}

std::string endpointsFile(const std::string& version, uint16_t port) {
  return "version_info: \"" + version + "\"\nresources:\n- \"@type\": " + kEndpointType +
         "\n  cluster_name: web\n  endpoints: [{lb_endpoints: [{endpoint: {address: "
         "{socket_address: {address: 127.0.0.1, port_value: " +
         std::to_string(port) + "}}}}]}]\n";
}

std::string routesFile(const std::string& version, const std::string& extra_route) {
  return "version_info: \"" + version + "\"\nresources:\n- \"@type\": " + kRouteType +
         "\n  name: web_routes\n  virtual_hosts:\n  - name: all\n    domains: [\"*\"]\n"
         "    routes:\n" +
         extra_route + "    - {match: {prefix: /}, route: {cluster: web}}\n";
}

std::string listenersFile(const std::string& version, uint16_t port, bool present,
                          const std::string& dir) {
  std::string out = "version_info: \"" + version + "\"\nresources:\n";
  if (!present) return out + "[]\n";
  return out + "- \"@type\": " + kListenerType + "\n  name: web_in\n" +
         "  address: {socket_address: {address: 127.0.0.1, port_value: " + std::to_string(port) +
         "}}\n  filter_chains:\n  - filters:\n    - name: "
         "remora.filters.network.http_connection_manager\n      typed_config:\n        \"@type\": "
         "type.googleapis.com/"
         "remora.extensions.filters.network.http_connection_manager.v1.HttpConnectionManager\n"
         "        stat_prefix: web\n        rds: {route_config_name: web_routes, config_source: "
         "{path: " +
         dir + "/routes.yaml}}\n        http_filters: [{name: remora.filters.http.router}]\n";
}

class DynamicConfigIntegrationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (int i = 0; i < 2; ++i) {
      std::string name = i == 0 ? "A" : "B";
      upstreams_[i] = std::make_unique<FakeUpstream>(httpServe([name](const FakeRequest& r) {
        if (r.requestLine().find("/slow") != std::string::npos) usleep(400 * 1000);
        return httpResponse(200, name);
      }));
    }
    dir_ = makeTempDir();
    listener_port_ = unusedPort();
    writeFile(dir_ + "/clusters.yaml", std::string("version_info: c1\nresources:\n- \"@type\": ") +
                                           kClusterType +
                                           "\n  name: web\n  type: EDS\n  connect_timeout: 1s\n"
                                           "  eds_cluster_config: {eds_config: {path: " +
                                           dir_ + "/endpoints.yaml}}\n");
    writeFile(dir_ + "/endpoints.yaml", endpointsFile("e1", upstreams_[0]->port()));
    writeFile(dir_ + "/routes.yaml", routesFile("r1", ""));
    writeFile(dir_ + "/listeners.yaml", listenersFile("l1", listener_port_, true, dir_));
    std::string bootstrap =
        "admin: {address: {socket_address: {address: 127.0.0.1, port_value: "
        "0}}}\ndynamic_resources:\n  cds_config: {path: " +
        dir_ + "/clusters.yaml}\n  lds_config: {path: " + dir_ + "/listeners.yaml}\n";
    std::string error;
    ASSERT_TRUE(proxy_.start(bootstrap, {"--concurrency", "2", "--drain-time-s", "5"}, error))
        << error;
    ASSERT_TRUE(waitFor([&] { return proxy_.admin("GET", "/ready").status == 200; }))
        << proxy_.log();
    address_ = "127.0.0.1:" + std::to_string(listener_port_);
  }

  std::string body(const std::string& path = "/") {
    return httpRequest(address_, "GET", path).body;
  }

  std::unique_ptr<FakeUpstream> upstreams_[2];
  std::string dir_;
  uint16_t listener_port_ = 0;
  std::string address_;
  ProxyProcess proxy_;
};

TEST_F(DynamicConfigIntegrationTest, ServesWhatTheFilesSay) {
  EXPECT_EQ(body(), "A");
  auto dump = proxy_.admin("GET", "/config_dump").body;
  EXPECT_NE(dump.find("\"version_info\":\"e1\""), std::string::npos) << dump;
  EXPECT_NE(dump.find("\"last_updated\":\"20"), std::string::npos) << dump;
  EXPECT_NE(dump.find("\"name\":\"web_in\""), std::string::npos) << dump;
  auto clusters = proxy_.admin("GET", "/clusters").body;
  EXPECT_NE(clusters.find("web::127.0.0.1:" + std::to_string(upstreams_[0]->port())),
            std::string::npos)
      << clusters;
}

TEST_F(DynamicConfigIntegrationTest, EndpointAndRouteEditsApplyToNewRequests) {
  ASSERT_EQ(body(), "A");
  writeFile(dir_ + "/endpoints.yaml", endpointsFile("e2", upstreams_[1]->port()));
  EXPECT_TRUE(waitFor([&] { return body() == "B"; }, seconds(5))) << proxy_.log();
  writeFile(dir_ + "/routes.yaml",
            routesFile("r2",
                       "    - {match: {path: /hello}, direct_response: {status: 200, body: "
                       "hi}}\n"));
  EXPECT_TRUE(waitFor([&] { return body("/hello") == "hi"; }, seconds(5))) << proxy_.log();
  EXPECT_EQ(body("/other"), "B");
}

TEST_F(DynamicConfigIntegrationTest, BadResourcesKeepTheLastGoodVersion) {
  auto rejected = [&] {
    return proxy_
        .metric("remora_config_updates_total{result=\"rejected\",source=\"" + dir_ +
                "/endpoints.yaml\"}")
        .value_or(0);
  };
  // An endpoint without a port: rejected, the old endpoints stay.
  writeFile(dir_ + "/endpoints.yaml",
            std::string("version_info: bad\nresources:\n- \"@type\": ") + kEndpointType +
                "\n  cluster_name: web\n  endpoints: [{lb_endpoints: [{endpoint: {address: "
                "{socket_address: {address: 127.0.0.1}}}}]}]\n");
  EXPECT_TRUE(waitFor([&] { return rejected() >= 1; }, seconds(5))) << proxy_.log();
  EXPECT_EQ(body(), "A");
  EXPECT_NE(proxy_.log().find("port_value"), std::string::npos) << proxy_.log();
  auto dump = proxy_.admin("GET", "/config_dump").body;
  EXPECT_NE(dump.find("\"last_error\":\"" + dir_ + "/endpoints.yaml: "), std::string::npos) << dump;
  // Not even YAML: nothing changes either.
  writeFile(dir_ + "/routes.yaml", "resources: [unclosed\n");
  EXPECT_TRUE(
      waitFor([&] { return proxy_.log().find("routes.yaml") != std::string::npos; }, seconds(5)));
  EXPECT_EQ(body(), "A");
  // A good version after bad ones applies.
  writeFile(dir_ + "/endpoints.yaml", endpointsFile("e3", upstreams_[1]->port()));
  EXPECT_TRUE(waitFor([&] { return body() == "B"; }, seconds(5))) << proxy_.log();
}

TEST_F(DynamicConfigIntegrationTest, RemovedListenerDrainsItsConnections) {
  // An idle keep-alive connection, and one with a request in flight when the listener goes.
  int idle = connectLoopback(listener_port_);
  ASSERT_GE(idle, 0);
  ASSERT_TRUE(sendAll(idle, "GET / HTTP/1.1\r\nhost: x\r\n\r\n"));
  ASSERT_TRUE(waitReadable(idle, seconds(5)));
  char scratch[4096];
  ASSERT_GT(::recv(idle, scratch, sizeof(scratch), 0), 0);
  int busy = connectLoopback(listener_port_);
  ASSERT_GE(busy, 0);
  ASSERT_TRUE(sendAll(busy, "GET /slow HTTP/1.1\r\nhost: x\r\n\r\n"));
  ASSERT_TRUE(waitFor([&] {
    return proxy_.metric("remora_http_downstream_requests_active{stat_prefix=\"web\"}")
               .value_or(0) >= 1;
  }));
  auto removed_at = std::chrono::steady_clock::now();
  writeFile(dir_ + "/listeners.yaml", listenersFile("l2", listener_port_, false, dir_));

  // The request in flight gets its answer, told that the connection ends, and then it does;
  // all well before the 5 s drain deadline.
  bool eof = false;
  std::string answer = recvUntilClosed(busy, seconds(4), &eof);
  EXPECT_TRUE(eof) << answer;
  EXPECT_NE(answer.find("\r\n\r\nA"), std::string::npos) << answer;
  EXPECT_NE(answer.find("connection: close"), std::string::npos) << answer;
  // The idle connection is closed instead of waiting for the deadline.
  eof = false;
  recvUntilClosed(idle, seconds(4), &eof);
  EXPECT_TRUE(eof);
  EXPECT_LT(std::chrono::steady_clock::now() - removed_at, seconds(4));
  ::close(busy);
  ::close(idle);

  // New connections are refused once every worker stopped accepting.
  EXPECT_TRUE(waitFor(
      [&] {
        int fd = connectLoopback(listener_port_);
        if (fd >= 0) ::close(fd);
        return fd < 0;
      },
      seconds(5)));
  // Back again: the same port serves.
  writeFile(dir_ + "/listeners.yaml", listenersFile("l3", listener_port_, true, dir_));
  EXPECT_TRUE(waitFor([&] { return body() == "A"; }, seconds(5))) << proxy_.log();
}

// HTTP/2: a graceful GOAWAY (a shutdown notice, then the final one), the stream in flight
// completes, and the connection ends.
TEST_F(DynamicConfigIntegrationTest, RemovedListenerSendsGoAwayToHttp2Clients) {
  if (access("/usr/bin/nghttp", X_OK) != 0) GTEST_SKIP() << "nghttp not installed";
  CommandResult result;
  std::thread client([&] {
    result = runCommand({"/usr/bin/nghttp", "-v", "http://" + address_ + "/slow"});
  });
  ASSERT_TRUE(waitFor([&] {
    return proxy_.metric("remora_http_downstream_requests_active{stat_prefix=\"web\"}")
               .value_or(0) >= 1;
  }));
  writeFile(dir_ + "/listeners.yaml", listenersFile("l2", listener_port_, false, dir_));
  client.join();
  EXPECT_EQ(result.exit_code, 0) << result.output;
  EXPECT_NE(result.output.find("recv GOAWAY frame"), std::string::npos) << result.output;
  EXPECT_NE(result.output.find(":status: 200"), std::string::npos) << result.output;
}

TEST_F(DynamicConfigIntegrationTest, RemovedClusterLetsRequestsInFlightFinish) {
  std::string slow;
  std::thread client([&] { slow = body("/slow"); });
  ASSERT_TRUE(waitFor([&] {
    return proxy_.metric("remora_http_downstream_requests_active{stat_prefix=\"web\"}")
               .value_or(0) >= 1;
  }));
  writeFile(dir_ + "/clusters.yaml", "version_info: c2\nresources: []\n");
  client.join();
  EXPECT_EQ(slow, "A");
  // Gone for new requests: no cluster, 503.
  EXPECT_TRUE(waitFor([&] { return httpRequest(address_, "GET", "/").status == 503; }, seconds(5)));
}

}  // namespace
}  // namespace remora::test

namespace remora::test {
namespace {

// A static TLS listener whose certificate is a Secret in a watched file (sds_config.path):
// served at start, replaced when the file changes, kept when the new version is unusable.
TEST(FileSecretTest, CertificateFromASecretFileFollowsTheFile) {
  std::string dir = makeTempDir();
  for (const char* name : {"first", "second"}) {
    ASSERT_EQ(makeSelfSignedCertificate(dir, name, "web.local"), "");
  }
  auto secretFile = [&](const std::string& version, const std::string& cert,
                        const std::string& key) {
    return "version_info: \"" + version +
           "\"\nresources:\n- \"@type\": "
           "type.googleapis.com/remora.extensions.transport_sockets.tls.v1.Secret\n"
           "  name: web_cert\n  tls_certificate:\n    certificate_chain: {filename: " +
           dir + "/" + cert + ".crt}\n    private_key: {filename: " + dir + "/" + key + ".key}\n";
  };
  std::string secret_path = dir + "/secret.yaml";
  writeFile(secret_path, secretFile("1", "first", "first"));
  std::string config = R"(
admin: {address: {socket_address: {address: 127.0.0.1, port_value: 0}}}
static_resources:
  listeners:
  - name: web
    address: {socket_address: {address: 127.0.0.1, port_value: 0}}
    filter_chains:
    - transport_socket:
        name: remora.transport_sockets.tls
        typed_config:
          "@type": type.googleapis.com/remora.extensions.transport_sockets.tls.v1.DownstreamTlsContext
          common_tls_context:
            tls_certificate_sds_secret_configs: [{name: web_cert, sds_config: {path: )" +
                       secret_path + R"(}}]
      filters:
      - name: remora.filters.network.http_connection_manager
        typed_config:
          "@type": type.googleapis.com/remora.extensions.filters.network.http_connection_manager.v1.HttpConnectionManager
          stat_prefix: web
          route_config:
            virtual_hosts:
            - name: all
              domains: ["*"]
              routes: [{match: {prefix: /}, direct_response: {status: 200, body: "ok"}}]
          http_filters: [{name: remora.filters.http.router}]
)";
  ProxyProcess proxy;
  std::string error;
  ASSERT_TRUE(proxy.start(config, {"--concurrency", "1"}, error)) << error;
  uint16_t port = proxy.listenerPort("web");
  auto curl = [&](const std::string& ca) {
    return runCommand({"/usr/bin/curl", "-sS", "--max-time", "5", "--cacert",
                       dir + "/" + ca + ".crt", "--resolve",
                       "web.local:" + std::to_string(port) + ":127.0.0.1",
                       "https://web.local:" + std::to_string(port) + "/"});
  };
  EXPECT_TRUE(waitFor([&] { return curl("first").output == "ok"; }, seconds(5))) << proxy.log();
  // A certificate with the wrong key: refused, the first one stays.
  writeFile(secret_path, secretFile("2", "second", "first"));
  EXPECT_TRUE(
      waitFor([&] { return proxy.log().find("does not match") != std::string::npos; }, seconds(5)))
      << proxy.log();
  EXPECT_EQ(curl("first").output, "ok");
  writeFile(secret_path, secretFile("3", "second", "second"));
  EXPECT_TRUE(waitFor([&] { return curl("second").output == "ok"; }, seconds(5))) << proxy.log();
}

}  // namespace
}  // namespace remora::test
