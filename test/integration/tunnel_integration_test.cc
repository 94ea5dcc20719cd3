// Tunnels through the real remora process (issue 14, "smuggling past authorization"): a client
// sends `GET /reviews/1` with `Upgrade: websocket` and, at once on the same connection, a
// pipelined `POST /admin/delete` that the HTTP RBAC filter denies. Whatever the upstream answers
// (101, 200, 426) or when RBAC denies the first request (403), the application never parses the
// POST as a request: before a 101 nothing after the upgrade request reaches it, after a declined
// upgrade the POST is authorized as the next request (and denied), and after a 101 its bytes
// are tunnel data of the protocol the application agreed to. CONNECT is refused. A WebSocket
// round trip still works. Over HTTP/2 an Upgrade header is refused (RFC 9113 8.2.2).

#include <sys/socket.h>
#include <unistd.h>

#include <mutex>

#include "gtest/gtest.h"
#include "test/integration/fake_upstream.h"
#include "test/integration/proxy_process.h"

namespace remora::test {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

constexpr const char* kAdminPost =
    "POST /admin/delete HTTP/1.1\r\nHost: reviews\r\nContent-Length: 3\r\nConnection: close\r\n"
    "\r\nall";

std::string upgradeRequest(const std::string& path) {
  return "GET " + path +
         " HTTP/1.1\r\nHost: reviews\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n"
         "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n";
}

// Reads a message head byte by byte (so nothing after it is consumed); empty on EOF/timeout.
std::string readHead(int fd, milliseconds timeout) {
  std::string head;
  while (head.find("\r\n\r\n") == std::string::npos) {
    std::string more = recvExactly(fd, 1, timeout);
    if (more.empty()) return {};
    head += more;
  }
  return head;
}

// The application behind the proxy, speaking HTTP/1.1 itself: it records every request line it
// parses, any byte that arrives before it answered (the proxy must hold those), and the bytes
// of a tunnel after it answered 101 to /reviews/101 (which it echoes). /reviews/426 is
// answered 426, anything else 200.
class App {
 public:
  App() : upstream_([this](int fd) { serve(fd); }) {}
  uint16_t port() const { return upstream_.port(); }
  uint64_t accepted() const { return upstream_.accepted(); }

  std::vector<std::string> requests() {
    std::lock_guard<std::mutex> lock(mutex_);
    return requests_;
  }
  std::string early() {
    std::lock_guard<std::mutex> lock(mutex_);
    return early_;
  }
  std::string tunnel() {
    std::lock_guard<std::mutex> lock(mutex_);
    return tunnel_;
  }
  int upgradeHeadsSeen() {
    std::lock_guard<std::mutex> lock(mutex_);
    return upgrade_heads_;
  }

 private:
  void serve(int fd) {
    while (true) {
      std::string head = readHead(fd, seconds(10));
      if (head.empty()) return;
      std::string line = head.substr(0, head.find("\r\n"));
      {
        std::lock_guard<std::mutex> lock(mutex_);
        requests_.push_back(line);
        if (head.find("pgrade: ") != std::string::npos) ++upgrade_heads_;
      }
      size_t length_at = head.find("ontent-length: ");
      if (length_at != std::string::npos) {
        size_t length = std::stoul(head.substr(length_at + 15));
        if (length > 0) recvExactly(fd, length, seconds(5));
      }
      // Anything the proxy sends before the answer is a byte it should have held.
      if (waitReadable(fd, milliseconds(300))) {
        char buf[4096];
        ssize_t n = ::recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
        std::lock_guard<std::mutex> lock(mutex_);
        early_.append(buf, n > 0 ? n : 0);
        if (n <= 0) return;
      }
      if (line.find(" /reviews/101 ") != std::string::npos) {
        sendAll(fd,
                "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                "Connection: Upgrade\r\n\r\n");
        char buf[4096];
        ssize_t n;
        while (waitReadable(fd, seconds(10)) && (n = ::recv(fd, buf, sizeof(buf), 0)) > 0) {
          {
            std::lock_guard<std::mutex> lock(mutex_);
            tunnel_.append(buf, n);
          }
          sendAll(fd, std::string(buf, n));
        }
        return;
      }
      if (line.find(" /reviews/426 ") != std::string::npos) {
        sendAll(fd, "HTTP/1.1 426 Upgrade Required\r\nContent-Length: 0\r\n\r\n");
      } else {
        sendAll(fd, "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\napp");
      }
    }
  }

  std::mutex mutex_;
  std::vector<std::string> requests_;
  std::string early_;
  std::string tunnel_;
  int upgrade_heads_ = 0;
  FakeUpstream upstream_;
};

std::string listener(const std::string& name, const std::string& upgrade_configs) {
  return R"(
  - name: )" +
         name + R"(
    address: {socket_address: {address: 127.0.0.1, port_value: 0}}
    filter_chains:
    - filters:
      - name: remora.filters.network.http_connection_manager
        typed_config:
          "@type": type.googleapis.com/remora.extensions.filters.network.http_connection_manager.v1.HttpConnectionManager
          stat_prefix: )" +
         name + "\n" + upgrade_configs + R"(
          route_config:
            virtual_hosts:
            - name: reviews
              domains: ["*"]
              routes: [{match: {prefix: /}, route: {cluster: app}}]
          http_filters:
          - name: remora.filters.http.rbac
            typed_config:
              "@type": type.googleapis.com/remora.extensions.filters.rbac.v1.RBAC
              stat_prefix: )" +
         name + R"(
              rules:
                policies:
                - name: default/no-admin
                  action: DENY
                  rules:
                  - to: [{methods: [POST], paths: [/admin/*]}]
                  - to: [{paths: [/private/*]}]
          - name: remora.filters.http.router
)";
}

class TunnelIntegrationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string config =
        "admin: {address: {socket_address: {address: 127.0.0.1, port_value: 0}}}\n"
        "static_resources:\n  listeners:" +
        listener("tunnels", "") +
        listener("no_websocket",
                 "          upgrade_configs: [{upgrade_type: websocket, enabled: false}]") +
        "  clusters:\n  - name: app\n    load_assignment: {endpoints: [{lb_endpoints: "
        "[{endpoint: {address: {socket_address: {address: 127.0.0.1, port_value: " +
        std::to_string(app_.port()) + "}}}}]}]}\n";
    std::string error;
    ASSERT_TRUE(proxy_.start(config, {"--concurrency", "1"}, error)) << error;
    port_ = proxy_.listenerPort("tunnels");
  }

  // Sends `bytes` at once on a new connection and reads until the proxy closes it.
  std::string exchange(const std::string& bytes, uint16_t port = 0) {
    int fd = connectLoopback(port != 0 ? port : port_);
    EXPECT_GE(fd, 0);
    EXPECT_TRUE(sendAll(fd, bytes));
    std::string out = recvUntilClosed(fd, seconds(10));
    ::close(fd);
    return out;
  }

  App app_;
  ProxyProcess proxy_;
  uint16_t port_ = 0;
};

TEST_F(TunnelIntegrationTest, DeclinedUpgradeThenPipelinedPostIsAuthorizedAndDenied) {
  for (const char* path : {"/reviews/200", "/reviews/426"}) {
    auto before = app_.requests().size();
    std::string response = exchange(upgradeRequest(path) + kAdminPost);
    const std::string first = std::string("HTTP/1.1 ") + (path[9] == '2' ? "200" : "426");
    EXPECT_EQ(response.substr(0, 12), first) << response;
    size_t second = response.find("HTTP/1.1 403 Forbidden", 12);
    ASSERT_NE(second, std::string::npos) << response;
    EXPECT_NE(response.find("RBAC: access denied", second), std::string::npos) << response;
    auto requests = app_.requests();
    ASSERT_EQ(requests.size(), before + 1) << requests.back();
    EXPECT_EQ(requests.back(), std::string("GET ") + path + " HTTP/1.1");
    EXPECT_EQ(app_.early(), "") << "bytes reached the application before its answer";
  }
}

TEST_F(TunnelIntegrationTest, UpgradeDeniedByRbacThenPipelinedPostIsDenied) {
  std::string response = exchange(upgradeRequest("/private/1") + kAdminPost);
  EXPECT_EQ(response.substr(0, 12), "HTTP/1.1 403") << response;
  EXPECT_NE(response.find("HTTP/1.1 403", 12), std::string::npos) << response;
  EXPECT_TRUE(app_.requests().empty());
  EXPECT_EQ(app_.accepted(), 0u);
}

TEST_F(TunnelIntegrationTest, After101TheBytesAreTunnelDataNotARequest) {
  int fd = connectLoopback(port_);
  ASSERT_GE(fd, 0);
  ASSERT_TRUE(sendAll(fd, upgradeRequest("/reviews/101") + kAdminPost));
  std::string head = readHead(fd, seconds(5));
  EXPECT_EQ(head.substr(0, 12), "HTTP/1.1 101") << head;
  EXPECT_NE(head.find("upgrade: websocket"), std::string::npos) << head;
  // The held bytes went through the tunnel only after the 101, and come back echoed.
  std::string post(kAdminPost);
  EXPECT_EQ(recvExactly(fd, post.size(), seconds(5)), post);
  // A WebSocket round trip still works.
  for (const std::string& frame :
       {std::string("\x81\x04ping"), std::string("\x82\x03\x00\x01\x02", 5)}) {
    ASSERT_TRUE(sendAll(fd, frame));
    EXPECT_EQ(recvExactly(fd, frame.size(), seconds(5)), frame);
  }
  ::close(fd);
  auto requests = app_.requests();
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(requests[0], "GET /reviews/101 HTTP/1.1");
  EXPECT_EQ(app_.early(), "") << "tunnel bytes reached the application before its 101";
  EXPECT_TRUE(waitFor([&] { return app_.tunnel().size() >= post.size(); }));
  EXPECT_EQ(app_.tunnel().substr(0, post.size()), post);
}

TEST_F(TunnelIntegrationTest, UpgradeNotAllowedIsServedAsPlainHttp) {
  uint16_t port = proxy_.listenerPort("no_websocket");
  std::string response = exchange(upgradeRequest("/reviews/200") + kAdminPost, port);
  EXPECT_EQ(response.substr(0, 12), "HTTP/1.1 200") << response;
  EXPECT_NE(response.find("RBAC: access denied"), std::string::npos) << response;
  // A 101 from the application to a request that asked for no upgrade opens nothing.
  response = exchange(upgradeRequest("/reviews/101") + kAdminPost, port);
  EXPECT_EQ(response.substr(0, 12), "HTTP/1.1 502") << response;
  EXPECT_NE(response.find("RBAC: access denied"), std::string::npos) << response;
  auto requests = app_.requests();
  ASSERT_EQ(requests.size(), 2u);
  EXPECT_EQ(requests[0], "GET /reviews/200 HTTP/1.1");
  EXPECT_EQ(requests[1], "GET /reviews/101 HTTP/1.1");
  EXPECT_EQ(app_.upgradeHeadsSeen(), 0) << "the ignored Upgrade header was passed on";
  EXPECT_EQ(app_.early(), "");
  EXPECT_EQ(app_.tunnel(), "");
}

TEST_F(TunnelIntegrationTest, ConnectIsRefusedAndWhatFollowsIsAuthorized) {
  std::string response = exchange("CONNECT reviews:9080 HTTP/1.1\r\nHost: reviews:9080\r\n\r\n" +
                                  std::string(kAdminPost));
  EXPECT_EQ(response.substr(0, 12), "HTTP/1.1 403") << response;
  EXPECT_NE(response.find("CONNECT is not supported"), std::string::npos) << response;
  EXPECT_NE(response.find("RBAC: access denied"), std::string::npos) << response;
  EXPECT_EQ(app_.accepted(), 0u);
}

TEST_F(TunnelIntegrationTest, Http2RequestWithUpgradeHeadersIsRefused) {
  // RFC 9113 8.2.2: connection-specific headers make an HTTP/2 request malformed; the stream is
  // reset and nothing reaches the application, let alone a tunnel.
  auto result = runCommand({"/usr/bin/nghttp", "-v", "-t", "5", "-H", "connection: upgrade", "-H",
                            "upgrade: websocket",
                            "http://127.0.0.1:" + std::to_string(port_) + "/reviews/101"});
  EXPECT_EQ(result.output.find(":status: 101"), std::string::npos) << result.output;
  EXPECT_EQ(result.output.find(":status: 200"), std::string::npos) << result.output;
  EXPECT_NE(result.output.find("RST_STREAM"), std::string::npos) << result.output;
  EXPECT_TRUE(app_.requests().empty());
}

}  // namespace
}  // namespace remora::test
