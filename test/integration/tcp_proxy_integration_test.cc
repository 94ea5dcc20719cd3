// The real remora process proxying TCP to fake upstreams on loopback.

#include <sys/socket.h>
#include <unistd.h>

#include <csignal>

#include "gtest/gtest.h"
#include "test/integration/configs.h"
#include "test/integration/fake_upstream.h"
#include "test/integration/proxy_process.h"

namespace remora::test {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

class TcpProxyIntegrationTest : public ::testing::Test {
 protected:
  void startProxy(const TcpProxySetup& setup,
                  std::vector<std::string> args = {"--concurrency", "2"}) {
    std::string error;
    ASSERT_TRUE(proxy_.start(tcpProxyConfig(setup), std::move(args), error)) << error;
    port_ = proxy_.listenerPort("tcp_in");
    ASSERT_NE(port_, 0);
  }

  ProxyProcess proxy_;
  uint16_t port_ = 0;
};

TEST_F(TcpProxyIntegrationTest, EchoesThroughProxy) {
  FakeUpstream upstream(FakeUpstream::echo());
  startProxy({.endpoints = {{upstream.port(), 1}}});
  for (int i = 0; i < 5; ++i) {
    int fd = connectLoopback(port_);
    ASSERT_GE(fd, 0);
    std::string message = "hello remora " + std::to_string(i);
    ASSERT_TRUE(sendAll(fd, message));
    EXPECT_EQ(recvExactly(fd, message.size(), seconds(5)), message);
    // Half-close: our FIN reaches the echo server, whose FIN comes back to us.
    ::shutdown(fd, SHUT_WR);
    bool eof = false;
    EXPECT_EQ(recvUntilClosed(fd, seconds(5), &eof), "");
    EXPECT_TRUE(eof);
    ::close(fd);
  }
  EXPECT_TRUE(waitFor([&] {
    return proxy_.metric("remora_listener_downstream_connections_total{listener=\"tcp_in\"}") ==
           5.0;
  }));
  EXPECT_TRUE(waitFor([&] {
    return proxy_.metric("remora_listener_downstream_connections_active{listener=\"tcp_in\"}") ==
           0.0;
  }));
  EXPECT_EQ(proxy_.metric("remora_cluster_upstream_connections_total{cluster=\"backend\"}"), 5.0);
}

TEST_F(TcpProxyIntegrationTest, MaxConnectionsPerListenerClosesTheOverflow) {
  FakeUpstream upstream(FakeUpstream::echo());
  startProxy({.endpoints = {{upstream.port(), 1}}, .max_connections = 2}, {"--concurrency", "2"});
  int a = connectLoopback(proxy_.listenerPort("tcp_in"));
  int b = connectLoopback(proxy_.listenerPort("tcp_in"));
  // Both are really open (echoing) before the third arrives.
  for (int fd : {a, b}) {
    ASSERT_TRUE(sendAll(fd, "hi"));
    EXPECT_EQ(recvExactly(fd, 2, std::chrono::seconds(5)), "hi");
  }
  int c = connectLoopback(proxy_.listenerPort("tcp_in"));
  bool eof = false;
  recvUntilClosed(c, std::chrono::seconds(5), &eof);
  EXPECT_TRUE(eof) << "the third connection was not closed";
  EXPECT_EQ(proxy_.metric("remora_listener_connections_overflow_total{listener=\"tcp_in\"}"), 1.0);
  // One closes; a new one fits again.
  ::close(a);
  ::close(c);
  ASSERT_TRUE(waitFor([&] {
    return proxy_.metric("remora_listener_downstream_connections_active{listener=\"tcp_in\"}") ==
           1.0;
  }));
  int d = connectLoopback(proxy_.listenerPort("tcp_in"));
  ASSERT_TRUE(sendAll(d, "ok"));
  EXPECT_EQ(recvExactly(d, 2, std::chrono::seconds(5)), "ok");
  ::close(b);
  ::close(d);
}

TEST_F(TcpProxyIntegrationTest, UpstreamRefusingClosesDownstreamAndCounts) {
  startProxy({.endpoints = {{unusedPort(), 1}}});
  int fd = connectLoopback(port_);
  ASSERT_GE(fd, 0);
  bool eof = false;
  recvUntilClosed(fd, seconds(5), &eof);
  EXPECT_TRUE(eof) << "downstream was not closed";
  ::close(fd);
  EXPECT_TRUE(waitFor([&] {
    return proxy_.metric("remora_cluster_upstream_connect_failures_total{cluster=\"backend\"}") ==
           1.0;
  })) << proxy_.admin("GET", "/stats/prometheus").body;
  EXPECT_EQ(
      proxy_.metric("remora_tcp_proxy_upstream_connect_failures_total{cluster=\"backend\",listener="
                    "\"tcp_in\"}"),
      1.0);
}

TEST_F(TcpProxyIntegrationTest, LargeUploadKeepsMemoryBounded) {
  constexpr uint64_t kBytes = 100ull * 1024 * 1024;
  std::atomic<uint64_t> received{0}, corrupt{0};
  FakeUpstream upstream(FakeUpstream::sink(&received, &corrupt));
  startProxy({.endpoints = {{upstream.port(), 1}}});
  uint64_t idle_rss = proxy_.residentBytes();
  int fd = connectLoopback(port_);
  ASSERT_GE(fd, 0);
  uint64_t peak_rss = 0;
  std::string chunk(1024 * 1024, '\0');
  for (uint64_t offset = 0; offset < kBytes; offset += chunk.size()) {
    for (size_t i = 0; i < chunk.size(); ++i) chunk[i] = patternByte(offset + i);
    ASSERT_TRUE(sendAll(fd, chunk));
    peak_rss = std::max(peak_rss, proxy_.residentBytes());
  }
  ::shutdown(fd, SHUT_WR);
  ASSERT_TRUE(waitFor([&] { return received.load() == kBytes; }, seconds(30)))
      << "received " << received.load();
  ::close(fd);
  EXPECT_EQ(corrupt.load(), 0u);
  // Two 1 MiB buffer limits per connection bound the growth; allow for allocator slack.
  EXPECT_LT(peak_rss, idle_rss + 16 * 1024 * 1024) << "idle " << idle_rss << " peak " << peak_rss;
  EXPECT_TRUE(waitFor([&] {
    return proxy_.metric("remora_listener_downstream_received_bytes_total{listener=\"tcp_in\"}") ==
           static_cast<double>(kBytes);
  }));
}

TEST_F(TcpProxyIntegrationTest, SlowReaderPausesUpstream) {
  constexpr uint64_t kBytes = 64ull * 1024 * 1024;
  std::atomic<uint64_t> sent{0};
  FakeUpstream upstream(FakeUpstream::source(kBytes, &sent));
  startProxy({.endpoints = {{upstream.port(), 1}}, .buffer_limit = 256 * 1024});
  int fd = connectLoopback(port_);
  ASSERT_GE(fd, 0);
  // Don't read at all for a while: the upstream must get stuck well short of the total, with
  // only socket buffers plus the proxy's bounded buffers in between.
  std::string first = recvExactly(fd, 1, seconds(5));
  ASSERT_EQ(first.size(), 1u);
  uint64_t before = 0;
  ASSERT_TRUE(waitFor(
      [&] {
        uint64_t now = sent.load();
        bool stable = now == before && now > 0;
        before = now;
        if (!stable) std::this_thread::sleep_for(milliseconds(100));
        return stable;
      },
      seconds(10)));
  EXPECT_LT(sent.load(), 32ull * 1024 * 1024) << "upstream was not paused";
  uint64_t rss = proxy_.residentBytes();
  EXPECT_LT(rss, 40ull * 1024 * 1024);
  // Now read slowly-but-steadily to the end and check every byte.
  uint64_t offset = 1;
  char buf[65536];
  uint64_t mismatches = 0;
  while (offset < kBytes) {
    if (!waitReadable(fd, seconds(10))) break;
    ssize_t n = ::recv(fd, buf, sizeof(buf), 0);
    if (n <= 0) break;
    for (ssize_t i = 0; i < n; ++i) mismatches += buf[i] != patternByte(offset + i);
    offset += n;
  }
  EXPECT_EQ(offset, kBytes);
  EXPECT_EQ(mismatches, 0u);
  ::close(fd);
}

TEST_F(TcpProxyIntegrationTest, IdleTimeoutClosesBothSides) {
  FakeUpstream upstream(FakeUpstream::echo());
  startProxy({.endpoints = {{upstream.port(), 1}}, .idle_timeout = "0.2s"});
  int fd = connectLoopback(port_);
  ASSERT_GE(fd, 0);
  ASSERT_TRUE(sendAll(fd, "ping"));
  EXPECT_EQ(recvExactly(fd, 4, seconds(5)), "ping");
  bool eof = false;
  recvUntilClosed(fd, seconds(5), &eof);
  EXPECT_TRUE(eof);
  ::close(fd);
  EXPECT_TRUE(waitFor([&] {
    return proxy_.metric(
               "remora_tcp_proxy_idle_timeouts_total{cluster=\"backend\",listener=\"tcp_in\"}") ==
           1.0;
  }));
}

TEST_F(TcpProxyIntegrationTest, WeightedRoundRobinHonoursWeights) {
  FakeUpstream light(FakeUpstream::echo());
  FakeUpstream heavy(FakeUpstream::echo());
  startProxy({.endpoints = {{light.port(), 1}, {heavy.port(), 3}}}, {"--concurrency", "1"});
  for (int i = 0; i < 40; ++i) {
    int fd = connectLoopback(port_);
    ASSERT_GE(fd, 0);
    ASSERT_TRUE(sendAll(fd, "x"));
    ASSERT_EQ(recvExactly(fd, 1, seconds(5)), "x");
    ::close(fd);
  }
  EXPECT_EQ(light.accepted(), 10u);
  EXPECT_EQ(heavy.accepted(), 30u);
}

TEST_F(TcpProxyIntegrationTest, SigtermLetsOpenTransferFinishThenExitsZero) {
  constexpr uint64_t kBytes = 32ull * 1024 * 1024;
  std::atomic<uint64_t> sent{0};
  FakeUpstream upstream(FakeUpstream::source(kBytes, &sent));
  startProxy({.endpoints = {{upstream.port(), 1}}}, {"--concurrency", "2", "--drain-time-s", "20"});
  int fd = connectLoopback(port_);
  ASSERT_GE(fd, 0);
  std::string head = recvExactly(fd, 1024 * 1024, seconds(5));
  ASSERT_EQ(head.size(), 1024u * 1024);
  proxy_.signal(SIGTERM);
  // Draining: not ready, and new connections are refused once listeners close.
  EXPECT_TRUE(waitFor([&] { return proxy_.admin("GET", "/ready").status == 503; }));
  EXPECT_TRUE(waitFor([&] {
    int probe = connectLoopback(port_);
    if (probe >= 0) ::close(probe);
    return probe < 0;
  }));
  bool eof = false;
  std::string rest = recvUntilClosed(fd, seconds(30), &eof);
  EXPECT_TRUE(eof);
  EXPECT_EQ(head.size() + rest.size(), kBytes);
  ::close(fd);
  EXPECT_EQ(proxy_.waitExit(seconds(10)), 0) << proxy_.log();
}

TEST_F(TcpProxyIntegrationTest, DrainTimeLimitsHowLongConnectionsMayStay) {
  FakeUpstream upstream(FakeUpstream::echo());
  startProxy({.endpoints = {{upstream.port(), 1}}}, {"--concurrency", "1", "--drain-time-s", "1"});
  int fd = connectLoopback(port_);
  ASSERT_GE(fd, 0);
  ASSERT_TRUE(sendAll(fd, "hold"));
  ASSERT_EQ(recvExactly(fd, 4, seconds(5)), "hold");
  auto start = std::chrono::steady_clock::now();
  proxy_.signal(SIGINT);
  EXPECT_EQ(proxy_.waitExit(seconds(10)), 0) << proxy_.log();
  EXPECT_GE(std::chrono::steady_clock::now() - start, milliseconds(900));
  ::close(fd);
}

TEST_F(TcpProxyIntegrationTest, SighupIsNotACrash) {
  FakeUpstream upstream(FakeUpstream::echo());
  startProxy({.endpoints = {{upstream.port(), 1}}});
  proxy_.signal(SIGHUP);
  EXPECT_FALSE(proxy_.waitExit(milliseconds(300)).has_value());
  EXPECT_EQ(proxy_.admin("GET", "/ready").status, 200);
}

TEST_F(TcpProxyIntegrationTest, QuitQuitQuitExitsZero) {
  FakeUpstream upstream(FakeUpstream::echo());
  startProxy({.endpoints = {{upstream.port(), 1}}});
  EXPECT_EQ(proxy_.admin("GET", "/quitquitquit").status, 405);
  EXPECT_EQ(proxy_.admin("POST", "/quitquitquit").status, 200);
  EXPECT_EQ(proxy_.waitExit(seconds(10)), 0) << proxy_.log();
}

}  // namespace
}  // namespace remora::test
