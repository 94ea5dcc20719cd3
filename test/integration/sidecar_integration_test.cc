// The real remora process in sidecar roles, without network namespaces: protocol detection
// choosing filter chains (curl over HTTP/1.1 and h2c, openssl s_client for TLS with SNI and
// ALPN, raw bytes, a silent server-first client), the readiness endpoint and
// `remora wait-ready`, SIGTERM draining inbound while outbound keeps serving, and
// POST /quitquitquit. Capture itself (iptables, SO_ORIGINAL_DST) is covered by
// test/sidecar/capture_namespace_test and the mini-cluster tests in test/e2e.

#include <sys/socket.h>
#include <unistd.h>

#include "gtest/gtest.h"
#include "test/integration/fake_http_upstream.h"
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

std::string hcm(const std::string& stat, const std::string& cluster) {
  return std::string(R"(
      - name: remora.filters.network.http_connection_manager
        typed_config:
          "@type": )") +
         kHcmType + R"(
          stat_prefix: )" +
         stat + R"(
          route_config:
            virtual_hosts:
            - name: all
              domains: ["*"]
              routes: [{match: {prefix: /}, route: {cluster: )" +
         cluster + R"(}}]
          http_filters: [{name: remora.filters.http.router}])";
}

std::string tcp(const std::string& cluster) {
  return std::string(R"(
      - name: remora.filters.network.tcp_proxy
        typed_config: {"@type": )") +
         kTcpType + ", stat_prefix: " + cluster + ", cluster: " + cluster + "}";
}

std::string cluster(const std::string& name, uint16_t port) {
  return "  - name: " + name +
         "\n    load_assignment: {endpoints: [{lb_endpoints: [{endpoint: {address: "
         "{socket_address: {address: 127.0.0.1, port_value: " +
         std::to_string(port) + "}}}}]}]}\n";
}

// Listener `inbound` (INBOUND) inspects and chooses: TLS by SNI, TLS with ALPN h2, HTTP, and
// everything else to an echo server. Listener `outbound` (OUTBOUND) is plain HTTP.
std::string sidecarConfig(uint16_t http, uint16_t echo, uint16_t tls_sni, uint16_t tls_h2) {
  return std::string(R"(
admin:
  address: {socket_address: {address: 127.0.0.1, port_value: 0}}
  readiness_address: {socket_address: {address: 127.0.0.1, port_value: 0}}
static_resources:
  listeners:
  - name: inbound
    address: {socket_address: {address: 127.0.0.1, port_value: 0}}
    traffic_direction: INBOUND
    listener_filters:
    - name: remora.filters.listener.protocol_detection
      typed_config:
        "@type": type.googleapis.com/remora.extensions.filters.listener.protocol_detection.v1.ProtocolDetection
        timeout: 0.2s
    filter_chains:
    - name: sni
      filter_chain_match: {transport_protocol: tls, server_names: ["*.mesh.test"]}
      filters:)") +
         tcp("tls_sni") + R"(
    - name: alpn_h2
      filter_chain_match: {transport_protocol: tls, application_protocols: [h2]}
      filters:)" +
         tcp("tls_h2") + R"(
    - name: http
      filter_chain_match: {application_protocols: [http/1.0, http/1.1, h2c]}
      filters:)" +
         hcm("inbound_http", "http") + R"(
    - name: opaque
      filters:)" +
         tcp("echo") + R"(
  - name: outbound
    address: {socket_address: {address: 127.0.0.1, port_value: 0}}
    traffic_direction: OUTBOUND
    filter_chains:
    - filters:)" +
         hcm("outbound_http", "http") + R"(
  clusters:
)" + cluster("http", http) +
         cluster("echo", echo) + cluster("tls_sni", tls_sni) + cluster("tls_h2", tls_h2);
}

// Reads one HTTP/1.1 response with a Content-Length body; "" on timeout or close.
std::string readResponse(int fd) {
  std::string data;
  auto deadline = std::chrono::steady_clock::now() + seconds(5);
  while (std::chrono::steady_clock::now() < deadline) {
    size_t end = data.find("\r\n\r\n");
    if (end != std::string::npos) {
      size_t cl = data.find("content-length: ");
      size_t length = cl == std::string::npos ? 0 : std::stoul(data.substr(cl + 16));
      if (data.size() >= end + 4 + length) return data.substr(0, end + 4 + length);
    }
    if (!waitReadable(fd, milliseconds(100))) continue;
    char buf[4096];
    ssize_t n = ::recv(fd, buf, sizeof(buf), 0);
    if (n <= 0) return "";
    data.append(buf, static_cast<size_t>(n));
  }
  return "";
}

std::string get(int fd, const std::string& path) {
  if (!sendAll(fd, "GET " + path + " HTTP/1.1\r\nHost: app\r\n\r\n")) return "";
  return readResponse(fd);
}

bool closedByPeer(int fd) {
  if (!waitReadable(fd, seconds(5))) return false;
  char c;
  return ::recv(fd, &c, 1, 0) == 0;
}

class SidecarIntegrationTest : public ::testing::Test {
 protected:
  void start(std::vector<std::string> args = {"--concurrency", "2"}, HttpHandler app = nullptr) {
    if (!app) {
      app = [](const FakeRequest& r) { return httpResponse(200, "app saw " + r.requestLine()); };
    }
    http_ = std::make_unique<FakeUpstream>(httpServe(app));
    echo_ = std::make_unique<FakeUpstream>(FakeUpstream::echo());
    tls_sni_ = std::make_unique<FakeUpstream>(FakeUpstream::echo());
    tls_h2_ = std::make_unique<FakeUpstream>(FakeUpstream::echo());
    std::string error;
    ASSERT_TRUE(
        proxy_.start(sidecarConfig(http_->port(), echo_->port(), tls_sni_->port(), tls_h2_->port()),
                     args, error))
        << error;
    inbound_ = proxy_.listenerPort("inbound");
    outbound_ = proxy_.listenerPort("outbound");
    readiness_ = proxy_.listenerPort("readiness");
  }

  CommandResult curl(std::vector<std::string> args) {
    std::vector<std::string> argv = {"/usr/bin/curl", "-s", "-m", "10"};
    for (auto& a : args) argv.push_back(a);
    return runCommand(argv);
  }

  double detected(const std::string& result) {
    return proxy_
        .metric("remora_protocol_detection_total{listener=\"inbound\",result=\"" + result + "\"}")
        .value_or(-1);
  }

  std::unique_ptr<FakeUpstream> http_, echo_, tls_sni_, tls_h2_;
  ProxyProcess proxy_;
  uint16_t inbound_ = 0, outbound_ = 0, readiness_ = 0;
};

TEST_F(SidecarIntegrationTest, DetectionChoosesTheChainForEachProtocol) {
  start();
  std::string base = "http://127.0.0.1:" + std::to_string(inbound_);
  auto h1 = curl({"--http1.1", base + "/one"});
  EXPECT_EQ(h1.output, "app saw GET /one HTTP/1.1");
  auto h2c = curl({"--http2-prior-knowledge", base + "/two"});
  EXPECT_EQ(h2c.output, "app saw GET /two HTTP/1.1");  // h2c in, HTTP/1.1 to the app

  // Opaque bytes go to the echo server, unchanged.
  int fd = connectLoopback(inbound_);
  ASSERT_GE(fd, 0);
  ASSERT_TRUE(sendAll(fd, "\x01\x02 binary hello\n"));
  EXPECT_EQ(recvExactly(fd, 16, seconds(5)), "\x01\x02 binary hello\n");
  ::close(fd);

  // A client that waits for the server to speak first: after the detection timeout it is
  // handled as opaque, and its later bytes still arrive.
  fd = connectLoopback(inbound_);
  ASSERT_GE(fd, 0);
  EXPECT_TRUE(waitFor([&] { return echo_->accepted() == 2; }, seconds(5)));
  ASSERT_TRUE(sendAll(fd, "late"));
  EXPECT_EQ(recvExactly(fd, 4, seconds(5)), "late");
  ::close(fd);

  // TLS ClientHellos from openssl: chosen by SNI, then by ALPN, else opaque.
  auto s_client = [&](std::vector<std::string> extra) {
    std::vector<std::string> argv = {"/usr/bin/timeout", "5",
                                     "/usr/bin/openssl", "s_client",
                                     "-connect",         "127.0.0.1:" + std::to_string(inbound_)};
    for (auto& e : extra) argv.push_back(e);
    return runCommand(argv);
  };
  s_client({"-servername", "reviews.mesh.test"});
  EXPECT_TRUE(waitFor([&] { return tls_sni_->accepted() == 1; }, seconds(5)));
  s_client({"-servername", "other.example", "-alpn", "h2,http/1.1"});
  EXPECT_TRUE(waitFor([&] { return tls_h2_->accepted() == 1; }, seconds(5)));
  s_client({"-servername", "other.example"});
  EXPECT_TRUE(waitFor([&] { return echo_->accepted() == 3; }, seconds(5)));
  EXPECT_EQ(tls_sni_->accepted(), 1u);

  EXPECT_EQ(detected("http1"), 1);
  EXPECT_EQ(detected("h2c"), 1);
  EXPECT_EQ(detected("tls"), 3);
  EXPECT_EQ(detected("opaque"), 1);
  EXPECT_EQ(detected("timeout"), 1);
}

TEST_F(SidecarIntegrationTest, ReadinessEndpointAndWaitReady) {
  start();
  std::string address = "127.0.0.1:" + std::to_string(readiness_);
  auto ready = httpRequest(address, "GET", "/healthz/ready");
  EXPECT_EQ(ready.status, 200);
  EXPECT_EQ(ready.body, "LIVE\n");
  auto ok = runCommand({remoraBinary(), "wait-ready", "--address", address, "--timeout-s", "5"});
  EXPECT_EQ(ok.exit_code, 0) << ok.output;
  // Nothing listening: not ready in time, and the error says why.
  auto none = runCommand({remoraBinary(), "wait-ready", "--address",
                          "127.0.0.1:" + std::to_string(unusedPort()), "--timeout-s", "1",
                          "--interval-ms", "50"});
  EXPECT_EQ(none.exit_code, 1);
  EXPECT_NE(none.output.find("not ready after 1 s (last: connect: Connection refused)"),
            std::string::npos)
      << none.output;
  auto bad = runCommand({remoraBinary(), "wait-ready", "--address", "localhost"});
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_NE(bad.output.find("bad value for --address: \"localhost\""), std::string::npos)
      << bad.output;
}

TEST(SidecarReadinessTest, NotReadyUntilTheControlPlaneHasSentConfig) {
  // A control plane that accepts and never answers: the initial fetch times out, the proxy
  // goes LIVE on what it has (admin /ready), but readiness stays 503.
  FakeUpstream silent([](int fd) {
    char buf[4096];
    while (::recv(fd, buf, sizeof(buf), 0) > 0) {
    }
  });
  std::string bootstrap =
      "admin:\n"
      "  address: {socket_address: {address: 127.0.0.1, port_value: 0}}\n"
      "  readiness_address: {socket_address: {address: 127.0.0.1, port_value: 0}}\n"
      "dynamic_resources:\n"
      "  ads_config: {address: {socket_address: {address: 127.0.0.1, port_value: " +
      std::to_string(silent.port()) +
      "}}}\n"
      "  cds_config: {ads: {}, initial_fetch_timeout: 0.3s}\n"
      "  lds_config: {ads: {}, initial_fetch_timeout: 0.3s}\n";
  ProxyProcess proxy;
  std::string error;
  ASSERT_TRUE(proxy.start(bootstrap, {"--concurrency", "1"}, error, false)) << error;
  std::string address = "127.0.0.1:" + std::to_string(proxy.listenerPort("readiness"));
  EXPECT_TRUE(waitFor([&] { return proxy.admin("GET", "/ready").status == 200; }));
  auto ready = httpRequest(address, "GET", "/healthz/ready");
  EXPECT_EQ(ready.status, 503);
  auto wait = runCommand({remoraBinary(), "wait-ready", "--address", address, "--timeout-s", "1"});
  EXPECT_EQ(wait.exit_code, 1);
  EXPECT_NE(wait.output.find("last: HTTP 503"), std::string::npos) << wait.output;
}

TEST_F(SidecarIntegrationTest, SigtermDrainsInboundWhileOutboundKeepsServing) {
  start({"--concurrency", "2", "--drain-time-s", "30"});
  int in_old = connectLoopback(inbound_);
  int out_old = connectLoopback(outbound_);
  ASSERT_GE(in_old, 0);
  ASSERT_GE(out_old, 0);
  ASSERT_NE(get(in_old, "/before").find("200"), std::string::npos);
  ASSERT_NE(get(out_old, "/before").find("200"), std::string::npos);
  auto start_time = std::chrono::steady_clock::now();
  proxy_.signal(SIGTERM);
  EXPECT_TRUE(waitFor([&] {
    return httpRequest("127.0.0.1:" + std::to_string(readiness_), "GET", "/healthz/ready").status ==
           503;
  }));

  // Inbound: the idle kept-alive connection is closed now (a client's next request on it
  // would race the close; clients resend idempotent requests, see below).
  EXPECT_TRUE(closedByPeer(in_old));
  ::close(in_old);
  // A peer that has not heard the pod is going is still served, once.
  int in_new = connectLoopback(inbound_);
  ASSERT_GE(in_new, 0);
  std::string fresh = get(in_new, "/late");
  EXPECT_NE(fresh.find("app saw GET /late"), std::string::npos) << fresh;
  EXPECT_NE(fresh.find("connection: close"), std::string::npos) << fresh;
  EXPECT_TRUE(closedByPeer(in_new));
  ::close(in_new);

  // HTTP/2 likewise: served, with GOAWAY.
  auto h2 = runCommand({"/usr/bin/nghttp", "-v", "-t", "5",
                        "http://127.0.0.1:" + std::to_string(inbound_) + "/h2-late"});
  EXPECT_NE(h2.output.find("app saw GET /h2-late"), std::string::npos) << h2.output;
  EXPECT_NE(h2.output.find("recv GOAWAY frame"), std::string::npos) << h2.output;

  // Outbound: business as usual, keep-alive included, new connections too.
  for (int i = 0; i < 3; ++i) {
    std::string r = get(out_old, "/app-call");
    EXPECT_NE(r.find("200"), std::string::npos) << r;
    EXPECT_EQ(r.find("connection: close"), std::string::npos) << r;
  }
  int out_new = connectLoopback(outbound_);
  ASSERT_GE(out_new, 0);
  EXPECT_NE(get(out_new, "/new-call").find("200"), std::string::npos);
  ::close(out_new);
  EXPECT_FALSE(proxy_.waitExit(milliseconds(200)).has_value());

  // The application's last connection closes: nothing is left, so the proxy exits now rather
  // than at the end of the 30 s drain.
  ::close(out_old);
  EXPECT_EQ(proxy_.waitExit(seconds(10)), 0) << proxy_.log();
  EXPECT_LT(std::chrono::steady_clock::now() - start_time, seconds(20));
}

TEST_F(SidecarIntegrationTest, MinimumDrainTimeKeepsAnIdleProxyServingNewPeers) {
  // Nothing is open when SIGTERM arrives, yet peers that have not heard of the endpoint
  // removal may still connect: the proxy stays for --min-drain-time-s and serves them.
  start({"--concurrency", "1", "--drain-time-s", "30", "--min-drain-time-s", "2"});
  auto start_time = std::chrono::steady_clock::now();
  proxy_.signal(SIGTERM);
  EXPECT_TRUE(waitFor([&] {
    return httpRequest("127.0.0.1:" + std::to_string(readiness_), "GET", "/healthz/ready").status ==
           503;
  }));
  EXPECT_FALSE(proxy_.waitExit(milliseconds(500)).has_value());
  int late = connectLoopback(inbound_);
  ASSERT_GE(late, 0);
  std::string answer = get(late, "/late");
  EXPECT_NE(answer.find("app saw GET /late"), std::string::npos) << answer;
  EXPECT_NE(answer.find("connection: close"), std::string::npos) << answer;
  ::close(late);
  // Then it goes once the minimum has passed, long before the 30 s drain time.
  EXPECT_EQ(proxy_.waitExit(seconds(10)), 0) << proxy_.log();
  auto took = std::chrono::steady_clock::now() - start_time;
  EXPECT_GE(took, milliseconds(1900));
  EXPECT_LT(took, seconds(20));
}

TEST_F(SidecarIntegrationTest, IdempotentRequestIsResentWhenAKeptAliveConnectionCloses) {
  // The app closes its kept-alive connection as the second request arrives (what a draining
  // peer does to an idle connection). A GET goes again on a new connection; a POST may have
  // been processed, so it is not resent.
  std::atomic<int> seen{0};
  start({"--concurrency", "1"}, [&](const FakeRequest& r) {
    int n = ++seen;
    if (n == 2 || n == 4) return std::string();  // close without answering
    return httpResponse(200, "app saw " + r.requestLine());
  });
  std::string base = "http://127.0.0.1:" + std::to_string(outbound_);
  EXPECT_EQ(curl({base + "/1"}).output, "app saw GET /1 HTTP/1.1");
  EXPECT_EQ(curl({base + "/2"}).output, "app saw GET /2 HTTP/1.1");
  EXPECT_EQ(seen.load(), 3);
  auto post = curl({"-o", "/dev/null", "-w", "%{http_code}", "-X", "POST", base + "/4"});
  EXPECT_EQ(post.output, "503");
  EXPECT_EQ(seen.load(), 4);
}

TEST_F(SidecarIntegrationTest, QuitQuitQuitExitsAtOnceEvenWithOpenConnections) {
  start({"--concurrency", "1", "--drain-time-s", "60"});
  int fd = connectLoopback(outbound_);
  ASSERT_GE(fd, 0);
  ASSERT_NE(get(fd, "/x").find("200"), std::string::npos);
  EXPECT_EQ(proxy_.admin("POST", "/quitquitquit").status, 200);
  EXPECT_EQ(proxy_.waitExit(seconds(5)), 0) << proxy_.log();
  EXPECT_TRUE(closedByPeer(fd));
  ::close(fd);
}

}  // namespace
}  // namespace remora::test
