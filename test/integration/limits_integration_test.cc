// Hostile peers against the real remora process (issue 14, point 4): TLS handshakes that never
// finish are closed after the filter chain's transport_socket_connect_timeout (downstream) or
// the cluster's connect_timeout (upstream); a listener's max_connections and the process-wide
// --max-downstream-connections close what is over them; at the descriptor limit accepting
// pauses with backoff (low CPU, a rate-limited log line), while readiness, admin and the
// connections already open keep working, and accepting resumes once descriptors are free.

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <thread>

#include "gtest/gtest.h"
#include "test/integration/configs.h"
#include "test/integration/fake_upstream.h"
#include "test/integration/proxy_process.h"
#include "test/integration/test_certs.h"

namespace remora::test {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using Clock = std::chrono::steady_clock;

constexpr const char* kDownstreamTls =
    "type.googleapis.com/remora.extensions.transport_sockets.tls.v1.DownstreamTlsContext";
constexpr const char* kUpstreamTls =
    "type.googleapis.com/remora.extensions.transport_sockets.tls.v1.UpstreamTlsContext";
constexpr const char* kTcpProxyType =
    "type.googleapis.com/remora.extensions.filters.network.tcp_proxy.v1.TcpProxy";
constexpr const char* kHcmType =
    "type.googleapis.com/"
    "remora.extensions.filters.network.http_connection_manager.v1.HttpConnectionManager";

// Sends `message` and expects it back through the proxy's echo upstream.
bool echoes(int fd, const std::string& message, milliseconds timeout = seconds(5)) {
  return sendAll(fd, message) && recvExactly(fd, message.size(), timeout) == message;
}

// True when the peer has closed `fd` (EOF or reset), without waiting.
bool closedByPeer(int fd) {
  pollfd p{fd, POLLIN, 0};
  if (::poll(&p, 1, 0) <= 0) return false;
  char byte;
  ssize_t n = ::recv(fd, &byte, 1, MSG_PEEK | MSG_DONTWAIT);
  return n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK);
}

// Waits for the peer to close `fd`; returns how long that took, or nullopt after `timeout`.
std::optional<milliseconds> timeUntilClosed(int fd, Clock::time_point since, milliseconds timeout) {
  bool eof = false;
  recvUntilClosed(fd, timeout, &eof);
  if (!eof) return std::nullopt;
  return std::chrono::duration_cast<milliseconds>(Clock::now() - since);
}

size_t countLines(const std::string& text, const std::string& needle) {
  size_t count = 0;
  for (size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) {
    ++count;
  }
  return count;
}

CommandResult sh(const std::string& script) { return runCommand({"/bin/sh", "-c", script}); }

class HandshakeTimeoutTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = makeTempDir();
    ASSERT_EQ(makeSelfSignedCertificate(dir_, "server", "server.local"), "");
  }

  // A TLS listener `tls_in` proxying to `upstream_port`, with the chain's timeout `timeout`
  // (empty: the default).
  std::string config(uint16_t upstream_port, const std::string& timeout) {
    return std::string(R"(admin: {address: {socket_address: {address: 127.0.0.1, port_value: 0}}}
static_resources:
  listeners:
  - name: tls_in
    address: {socket_address: {address: 127.0.0.1, port_value: 0}}
    filter_chains:
    - filters:
      - name: remora.filters.network.tcp_proxy
        typed_config: {"@type": )") +
           kTcpProxyType + R"(, cluster: backend}
)" + (timeout.empty() ? "" : "      transport_socket_connect_timeout: " + timeout + "\n") +
           R"(      transport_socket:
        name: remora.transport_sockets.tls
        typed_config:
          "@type": )" +
           kDownstreamTls + R"(
          common_tls_context:
            tls_certificates:
            - certificate_chain: {filename: )" +
           dir_ + R"(/server.crt}
              private_key: {filename: )" +
           dir_ + R"(/server.key}
  clusters:
  - name: backend
    connect_timeout: 2s
    load_assignment: {endpoints: [{lb_endpoints: [{endpoint: {address: {socket_address: {address: 127.0.0.1, port_value: )" +
           std::to_string(upstream_port) + "}}}}]}]}\n";
  }

  std::optional<double> timeouts() {
    return proxy_.metric(
        "remora_tls_handshake_failures_total{name=\"tls_in\",reason=\"handshake_timeout\","
        "side=\"downstream\"}");
  }

  std::string dir_;
  ProxyProcess proxy_;
};

TEST_F(HandshakeTimeoutTest, SilentAndPartialClientHellosAreClosedAfterTheTimeout) {
  FakeUpstream upstream(FakeUpstream::echo());
  std::string error;
  ASSERT_TRUE(proxy_.start(config(upstream.port(), "1s"), {"--concurrency", "2"}, error)) << error;
  uint16_t port = proxy_.listenerPort("tls_in");

  // Connects and never sends a byte.
  auto silent_start = Clock::now();
  int silent = connectLoopback(port);
  ASSERT_GE(silent, 0);
  // Sends the start of a ClientHello (a handshake record announcing 512 bytes), then stalls.
  auto partial_start = Clock::now();
  int partial = connectLoopback(port);
  ASSERT_GE(partial, 0);
  ASSERT_TRUE(sendAll(partial, std::string("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", 11)));

  auto silent_took = timeUntilClosed(silent, silent_start, seconds(5));
  auto partial_took = timeUntilClosed(partial, partial_start, seconds(5));
  ASSERT_TRUE(silent_took) << "a silent client was never closed";
  ASSERT_TRUE(partial_took) << "a partial ClientHello was never closed";
  EXPECT_GE(silent_took->count(), 900);
  EXPECT_LE(silent_took->count(), 3000);
  EXPECT_GE(partial_took->count(), 900);
  EXPECT_LE(partial_took->count(), 3000);
  ::close(silent);
  ::close(partial);
  EXPECT_TRUE(waitFor([&] { return timeouts() == 2.0; })) << timeouts().value_or(-1);
}

TEST_F(HandshakeTimeoutTest, AFinishedHandshakeOutlivesTheTimeout) {
  FakeUpstream upstream(FakeUpstream::echo());
  std::string error;
  ASSERT_TRUE(proxy_.start(config(upstream.port(), "1s"), {"--concurrency", "1"}, error)) << error;
  uint16_t port = proxy_.listenerPort("tls_in");
  // The client holds its TLS connection for 2 s (twice the timeout) before sending.
  auto result =
      sh("(sleep 2; printf still-here; sleep 1) | timeout 10 openssl s_client -connect "
         "127.0.0.1:" +
         std::to_string(port) + " -quiet -no_ign_eof 2>/dev/null");
  EXPECT_NE(result.output.find("still-here"), std::string::npos) << result.output;
  EXPECT_EQ(timeouts(), std::nullopt);
}

TEST_F(HandshakeTimeoutTest, DefaultIsTenSeconds) {
  FakeUpstream upstream(FakeUpstream::echo());
  std::string error;
  ASSERT_TRUE(proxy_.start(config(upstream.port(), ""), {"--concurrency", "1"}, error)) << error;
  auto start = Clock::now();
  int silent = connectLoopback(proxy_.listenerPort("tls_in"));
  ASSERT_GE(silent, 0);
  auto took = timeUntilClosed(silent, start, seconds(15));
  ASSERT_TRUE(took) << "not closed within 15 s";
  EXPECT_GE(took->count(), 9500);
  EXPECT_LE(took->count(), 12000);
  ::close(silent);
}

// Upstream: a TLS cluster whose server accepts TCP and never answers the ClientHello; the
// cluster's connect_timeout covers the handshake.
TEST_F(HandshakeTimeoutTest, UpstreamHandshakeIsBoundedByTheConnectTimeout) {
  std::atomic<uint64_t> received{0};
  std::atomic<uint64_t> corrupt{0};
  FakeUpstream silent_server(FakeUpstream::sink(&received, &corrupt));
  std::string config =
      std::string(R"(admin: {address: {socket_address: {address: 127.0.0.1, port_value: 0}}}
static_resources:
  listeners:
  - name: http_in
    address: {socket_address: {address: 127.0.0.1, port_value: 0}}
    filter_chains:
    - filters:
      - name: remora.filters.network.http_connection_manager
        typed_config:
          "@type": )") +
      kHcmType +
      R"(
          stat_prefix: in
          route_config:
            virtual_hosts:
            - {name: all, domains: ["*"], routes: [{match: {prefix: /}, route: {cluster: tls_backend}}]}
          http_filters: [{name: remora.filters.http.router}]
  clusters:
  - name: tls_backend
    connect_timeout: 1s
    load_assignment: {endpoints: [{lb_endpoints: [{endpoint: {address: {socket_address: {address: 127.0.0.1, port_value: )" +
      std::to_string(silent_server.port()) + R"(}}}}]}]}
    transport_socket:
      name: remora.transport_sockets.tls
      typed_config:
        "@type": )" +
      kUpstreamTls +
      R"(
        sni: server.local
)";
  std::string error;
  ASSERT_TRUE(proxy_.start(config, {"--concurrency", "1"}, error)) << error;
  uint16_t port = proxy_.listenerPort("http_in");
  auto start = Clock::now();
  HttpResponse response = httpRequest("127.0.0.1:" + std::to_string(port), "GET", "/");
  auto took = std::chrono::duration_cast<milliseconds>(Clock::now() - start);
  EXPECT_EQ(response.status, 503) << response.headers << response.body;
  EXPECT_GE(took.count(), 900);
  EXPECT_LE(took.count(), 5000);
  EXPECT_GE(silent_server.accepted(), 1u);
  EXPECT_GE(proxy_.metric("remora_cluster_upstream_connect_timeouts_total{cluster=\"tls_backend\"}")
                .value_or(0),
            1.0);
}

class ConnectionLimitTest : public ::testing::Test {
 protected:
  void TearDown() override {
    for (int fd : open_) ::close(fd);
  }
  int track(int fd) {
    if (fd >= 0) open_.push_back(fd);
    return fd;
  }
  std::vector<int> open_;
  ProxyProcess proxy_;
};

TEST_F(ConnectionLimitTest, ListenerMaxConnectionsClosesTheSixthAndAcceptsAfterSomeClose) {
  FakeUpstream upstream(FakeUpstream::echo());
  std::string error;
  ASSERT_TRUE(
      proxy_.start(tcpProxyConfig({.endpoints = {{upstream.port(), 1}}, .max_connections = 5}),
                   {"--concurrency", "2"}, error))
      << error;
  uint16_t port = proxy_.listenerPort("tcp_in");
  std::vector<int> first;
  for (int i = 0; i < 5; ++i) {
    int fd = track(connectLoopback(port));
    ASSERT_GE(fd, 0);
    ASSERT_TRUE(echoes(fd, "hello " + std::to_string(i))) << i;
    first.push_back(fd);
  }
  int sixth = track(connectLoopback(port));
  ASSERT_GE(sixth, 0);
  bool eof = false;
  recvUntilClosed(sixth, seconds(5), &eof);
  EXPECT_TRUE(eof) << "the sixth connection was not closed";
  EXPECT_EQ(proxy_.metric("remora_listener_connections_overflow_total{listener=\"tcp_in\"}"), 1.0);
  for (int fd : first) EXPECT_TRUE(echoes(fd, "still open"));

  ::close(first[0]);
  ::close(first[1]);
  open_.erase(open_.begin(), open_.begin() + 2);
  ASSERT_TRUE(waitFor([&] {
    return proxy_.metric("remora_listener_downstream_connections_active{listener=\"tcp_in\"}") ==
           3.0;
  }));
  for (int i = 0; i < 2; ++i) {
    int fd = track(connectLoopback(port));
    ASSERT_GE(fd, 0);
    EXPECT_TRUE(echoes(fd, "a new one " + std::to_string(i)));
  }
  EXPECT_EQ(proxy_.metric("remora_listener_connections_overflow_total{listener=\"tcp_in\"}"), 1.0);
}

TEST_F(ConnectionLimitTest, ProcessWideLimitCountsEveryListenerButNotAdmin) {
  FakeUpstream upstream(FakeUpstream::echo());
  std::string error;
  ASSERT_TRUE(proxy_.start(tcpProxyConfig({.endpoints = {{upstream.port(), 1}}}),
                           {"--concurrency", "2", "--max-downstream-connections", "3"}, error))
      << error;
  EXPECT_EQ(proxy_.metric("remora_server_downstream_connections_limit"), 3.0);
  uint16_t port = proxy_.listenerPort("tcp_in");
  for (int i = 0; i < 3; ++i) {
    int fd = track(connectLoopback(port));
    ASSERT_TRUE(echoes(fd, "x" + std::to_string(i)));
  }
  int fourth = track(connectLoopback(port));
  bool eof = false;
  recvUntilClosed(fourth, seconds(5), &eof);
  EXPECT_TRUE(eof) << "the fourth connection was not closed";
  // The admin endpoint answers at the limit: it is not counted.
  EXPECT_EQ(proxy_.admin("GET", "/ready").status, 200);
  EXPECT_EQ(proxy_.metric("remora_listener_global_connections_overflow_total{listener=\"tcp_in\"}"),
            1.0);
  ::close(open_.front());
  open_.erase(open_.begin());
  EXPECT_TRUE(waitFor([&] {
    int fd = connectLoopback(port);
    bool ok = echoes(fd, "again", milliseconds(500));
    if (ok) {
      track(fd);
    } else {
      ::close(fd);
    }
    return ok;
  }));
}

TEST_F(ConnectionLimitTest, AtTheDescriptorLimitAcceptingPausesAndEverythingElseWorks) {
  FakeUpstream upstream(FakeUpstream::echo());
  std::string config = tcpProxyConfig({.endpoints = {{upstream.port(), 1}}});
  config.replace(config.find("admin:\n"), 7,
                 "admin:\n  readiness_address: {socket_address: {address: 127.0.0.1, port_value: "
                 "0}}\n");
  // 128 descriptors: the proxy keeps the top 16 free, and each connection takes two (its
  // upstream's too); no connection limit, so the descriptors run out first.
  proxy_.setDescriptorLimit(128);
  std::string error;
  ASSERT_TRUE(
      proxy_.start(config, {"--concurrency", "2", "--max-downstream-connections", "0"}, error))
      << error;
  uint16_t port = proxy_.listenerPort("tcp_in");
  uint16_t readiness = proxy_.listenerPort("readiness");
  ASSERT_NE(readiness, 0);

  // Open connections until one is not served.
  std::vector<int> served;
  int refused = -1;
  for (int i = 0; i < 100 && refused < 0; ++i) {
    int fd = connectLoopback(port);
    ASSERT_GE(fd, 0);
    if (echoes(fd, "c" + std::to_string(i), milliseconds(1000))) {
      served.push_back(track(fd));
    } else {
      refused = track(fd);
    }
  }
  ASSERT_GE(refused, 0) << "the descriptor limit was never reached";
  ASSERT_GE(served.size(), 10u);
  ASSERT_TRUE(waitFor([&] {
    return proxy_.metric("remora_listener_accept_errors_total{listener=\"tcp_in\"}").value_or(0) >=
           1;
  }));

  // Clients keep arriving; they wait in the backlog. The proxy neither spins nor closes them
  // all (it tries again only a few times a second).
  std::vector<int> queued;
  for (int i = 0; i < 40; ++i) queued.push_back(track(connectLoopback(port)));
  auto cpu_before = proxy_.cpuTime();
  auto wall_before = Clock::now();
  std::this_thread::sleep_for(seconds(1));  // the measurement window, not a wait for a state
  auto cpu = proxy_.cpuTime() - cpu_before;
  auto wall = std::chrono::duration_cast<milliseconds>(Clock::now() - wall_before);
  EXPECT_LT(cpu.count(), wall.count() / 5) << "CPU " << cpu.count() << " ms in " << wall.count();
  size_t closed = 0;
  for (int fd : queued) closed += closedByPeer(fd) ? 1 : 0;
  EXPECT_LE(closed, 15u) << "queued connections are being accepted and closed in a loop";

  // Readiness, admin and the open connections keep working.
  EXPECT_EQ(httpRequest("127.0.0.1:" + std::to_string(readiness), "GET", "/healthz/ready").status,
            200);
  EXPECT_EQ(proxy_.admin("GET", "/ready").status, 200);
  for (size_t i = 0; i < served.size(); i += 5) {
    EXPECT_TRUE(echoes(served[i], "still served")) << i;
  }
  std::string log = proxy_.log();
  EXPECT_GE(countLines(log, "accept failed"), 1u) << log;
  EXPECT_LE(countLines(log, "accept failed"), 3u) << log;

  // Descriptors come back: new connections are served again.
  for (int fd : open_) ::close(fd);
  open_.clear();
  ASSERT_TRUE(waitFor([&] {
    return proxy_.metric("remora_listener_downstream_connections_active{listener=\"tcp_in\"}") ==
           0.0;
  }));
  EXPECT_TRUE(waitFor([&] {
    int fd = connectLoopback(port);
    bool ok = echoes(fd, "back", milliseconds(500));
    ::close(fd);
    return ok;
  }));
}

}  // namespace
}  // namespace remora::test
