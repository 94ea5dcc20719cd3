#include "source/server/admin/admin_server.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cctype>
#include <cstring>
#include <map>
#include <stdexcept>
#include <string>
#include <thread>

namespace remora::server {
namespace {

struct HttpReply {
  int status = 0;                              // 0: the exchange failed
  std::map<std::string, std::string> headers;  // names lower-cased
  std::string body;
};

int connectTo(int family, const char* ip, uint16_t port) {
  sockaddr_storage addr{};
  socklen_t len;
  if (family == AF_INET6) {
    auto* a6 = reinterpret_cast<sockaddr_in6*>(&addr);
    a6->sin6_family = AF_INET6;
    a6->sin6_port = htons(port);
    inet_pton(AF_INET6, ip, &a6->sin6_addr);
    len = sizeof(sockaddr_in6);
  } else {
    auto* a4 = reinterpret_cast<sockaddr_in*>(&addr);
    a4->sin_family = AF_INET;
    a4->sin_port = htons(port);
    inet_pton(AF_INET, ip, &a4->sin_addr);
    len = sizeof(sockaddr_in);
  }
  int fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  // A hung server must fail the test, not hang it.
  timeval timeout{10, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), len) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

// One blocking HTTP/1.1 exchange on a fresh connection. `Connection: close` makes the server
// close after the response, so the reply is everything read until EOF.
HttpReply httpRequest(const std::string& method, const std::string& target, uint16_t port,
                      int family = AF_INET, const char* ip = "127.0.0.1") {
  HttpReply reply;
  int fd = connectTo(family, ip, port);
  if (fd < 0) return reply;
  const std::string request = method + " " + target +
                              " HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n"
                              "Content-Length: 0\r\n\r\n";
  if (send(fd, request.data(), request.size(), MSG_NOSIGNAL) != ssize_t(request.size())) {
    close(fd);
    return reply;
  }
  std::string raw;
  char buffer[4096];
  ssize_t n;
  while ((n = recv(fd, buffer, sizeof(buffer), 0)) > 0) raw.append(buffer, n);
  close(fd);

  const size_t head_end = raw.find("\r\n\r\n");
  if (n < 0 || head_end == std::string::npos || raw.compare(0, 9, "HTTP/1.1 ") != 0) return reply;
  reply.body = raw.substr(head_end + 4);
  size_t line = raw.find("\r\n");
  reply.status = std::stoi(raw.substr(9, 3));
  while (line < head_end) {
    const size_t next = raw.find("\r\n", line + 2);
    const std::string header = raw.substr(line + 2, next - line - 2);
    const size_t colon = header.find(':');
    std::string name = header.substr(0, colon);
    for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    reply.headers[name] = header.substr(header.find_first_not_of(' ', colon + 1));
    line = next;
  }
  return reply;
}

class AdminServerTest : public testing::Test {
 protected:
  AdminServerTest() {
    admin_.addHandler("/ready", "whether the server is ready", false, [](const AdminRequest&) {
      return AdminResponse{200, "text/plain; charset=utf-8", "LIVE\n"};
    });
    admin_.addHandler("/echo", "echoes the request", false, [this](const AdminRequest& request) {
      on_dispatcher_thread_ = dispatcher_.isThreadSafe();
      return AdminResponse{200, "application/json",
                           request.method + " " + request.path + " " + request.query};
    });
    admin_.addHandler("/reset_counters", "resets all counters", true, [this](const AdminRequest&) {
      ++resets_;
      return AdminResponse{200, "text/plain; charset=utf-8", "OK\n"};
    });
    admin_.addHandler("/broken", "throws", false, [](const AdminRequest&) -> AdminResponse {
      throw std::runtime_error("boom");
    });
  }

  ~AdminServerTest() override { stopLoop(); }

  void start() {
    std::string error;
    ASSERT_TRUE(admin_.start("127.0.0.1", 0, error)) << error;
    ASSERT_NE(admin_.port(), 0);
    loop_ = std::thread([this] { dispatcher_.run(); });
  }

  void stopLoop() {
    if (!loop_.joinable()) return;
    dispatcher_.post([this] { dispatcher_.exit(); });
    loop_.join();
  }

  HttpReply get(const std::string& target) { return httpRequest("GET", target, admin_.port()); }

  event::LibeventDispatcher dispatcher_{"main"};
  AdminServer admin_{dispatcher_};
  std::thread loop_;
  std::atomic<bool> on_dispatcher_thread_{false};
  std::atomic<int> resets_{0};
};

TEST_F(AdminServerTest, RootListsEveryEndpoint) {
  start();
  HttpReply reply = get("/");
  EXPECT_EQ(reply.status, 200);
  EXPECT_EQ(reply.headers["content-type"], "text/plain; charset=utf-8");
  EXPECT_EQ(reply.body,
            "admin endpoints:\n"
            "  /: this list\n"
            "  /broken: throws\n"
            "  /echo: echoes the request\n"
            "  /ready: whether the server is ready\n"
            "  /reset_counters: resets all counters\n");
}

TEST_F(AdminServerTest, HandlerRunsOnTheDispatcherThread) {
  start();
  HttpReply reply = get("/echo?format=json&x=1");
  EXPECT_EQ(reply.status, 200);
  EXPECT_EQ(reply.headers["content-type"], "application/json");
  EXPECT_EQ(reply.headers["content-length"], std::to_string(reply.body.size()));
  EXPECT_EQ(reply.body, "GET /echo format=json&x=1");
  EXPECT_TRUE(on_dispatcher_thread_);
}

TEST_F(AdminServerTest, UnknownPathIs404) {
  start();
  HttpReply reply = get("/nope");
  EXPECT_EQ(reply.status, 404);
  EXPECT_EQ(reply.headers["content-type"], "text/plain; charset=utf-8");
  EXPECT_NE(reply.body.find("GET / lists the endpoints"), std::string::npos);
  // Exact paths only.
  EXPECT_EQ(get("/ready/").status, 404);
}

TEST_F(AdminServerTest, MutatingHandlerRequiresPost) {
  start();
  HttpReply rejected = get("/reset_counters");
  EXPECT_EQ(rejected.status, 405);
  EXPECT_EQ(rejected.headers["allow"], "POST");
  EXPECT_NE(rejected.body.find("use POST"), std::string::npos);
  EXPECT_EQ(resets_, 0);

  HttpReply accepted = httpRequest("POST", "/reset_counters", admin_.port());
  EXPECT_EQ(accepted.status, 200);
  EXPECT_EQ(accepted.body, "OK\n");
  EXPECT_EQ(resets_, 1);
}

// A POST (the only method that changes anything) from a client that is not on a loopback
// address is refused before the handler runs; reads stay open to it.
TEST_F(AdminServerTest, PostOnlyFromLoopbackClients) {
  std::string allow;
  AdminRequest remote{"POST", "/reset_counters", "", "198.18.0.9:40112", false};
  AdminResponse refused = admin_.respond(remote, allow);
  EXPECT_EQ(refused.status, 403);
  EXPECT_NE(refused.body.find("only to clients on a loopback address"), std::string::npos);
  EXPECT_NE(refused.body.find("198.18.0.9:40112"), std::string::npos);
  EXPECT_EQ(resets_, 0);
  // POST to a read-only endpoint too (e.g. /logging's level change is a POST).
  EXPECT_EQ(admin_.respond({"POST", "/echo", "level=debug", "198.18.0.9:1", false}, allow).status,
            403);
  EXPECT_EQ(admin_.respond({"GET", "/ready", "", "198.18.0.9:1", false}, allow).status, 200);
  EXPECT_EQ(admin_.respond({"HEAD", "/ready", "", "[fd00::9]:1", false}, allow).status, 200);
  // Unknown peer (no address): refused as well.
  EXPECT_EQ(admin_.respond({"POST", "/reset_counters", "", "", false}, allow).status, 403);
  EXPECT_EQ(resets_, 0);

  // Over a real connection from 127.0.0.1 the server knows the client is local.
  start();
  EXPECT_EQ(httpRequest("POST", "/reset_counters", admin_.port()).status, 200);
  EXPECT_EQ(resets_, 1);
  HttpReply echoed = httpRequest("POST", "/echo", admin_.port());
  EXPECT_EQ(echoed.status, 200);
}

TEST_F(AdminServerTest, ReadOnlyHandlerRejectsOtherMethods) {
  start();
  EXPECT_EQ(httpRequest("POST", "/ready", admin_.port()).status, 200);
  HttpReply reply = httpRequest("DELETE", "/ready", admin_.port());
  EXPECT_EQ(reply.status, 405);
  EXPECT_EQ(reply.headers["allow"], "GET, HEAD, POST");
}

TEST_F(AdminServerTest, HeadSendsLengthWithoutBody) {
  start();
  HttpReply reply = httpRequest("HEAD", "/ready", admin_.port());
  EXPECT_EQ(reply.status, 200);
  EXPECT_EQ(reply.headers["content-type"], "text/plain; charset=utf-8");
  EXPECT_EQ(reply.headers["content-length"], "5");
  EXPECT_EQ(reply.body, "");
}

TEST_F(AdminServerTest, ThrowingHandlerIs500) {
  start();
  HttpReply reply = get("/broken");
  EXPECT_EQ(reply.status, 500);
  EXPECT_NE(reply.body.find("boom"), std::string::npos);
  EXPECT_EQ(get("/ready").status, 200);
}

TEST_F(AdminServerTest, StartFailuresAreReported) {
  start();
  std::string error;
  EXPECT_FALSE(admin_.start("127.0.0.1", 0, error));
  EXPECT_EQ(error, "admin server already started");

  event::LibeventDispatcher other_dispatcher("other");
  AdminServer other(other_dispatcher);
  EXPECT_FALSE(other.start("127.0.0.1", admin_.port(), error));
  EXPECT_NE(error.find("Address already in use"), std::string::npos) << error;
  EXPECT_EQ(other.port(), 0);
  EXPECT_FALSE(other.start("localhost", 0, error));
  EXPECT_NE(error.find("not an IP address"), std::string::npos) << error;
}

TEST_F(AdminServerTest, StopClosesThePort) {
  start();
  const uint16_t port = admin_.port();
  EXPECT_EQ(get("/ready").status, 200);
  stopLoop();
  admin_.stop();
  EXPECT_EQ(admin_.port(), 0);
  EXPECT_LT(connectTo(AF_INET, "127.0.0.1", port), 0);
}

bool ipv6LoopbackUsable() {
  int fd = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  sockaddr_in6 addr{};
  addr.sin6_family = AF_INET6;
  addr.sin6_addr = in6addr_loopback;
  const bool ok = bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
  close(fd);
  return ok;
}

TEST(AdminServerIpv6Test, BindsIpv6Loopback) {
  if (!ipv6LoopbackUsable()) GTEST_SKIP() << "no IPv6 loopback here";
  event::LibeventDispatcher dispatcher("main");
  AdminServer admin(dispatcher);
  admin.addHandler("/ready", "readiness", false, [](const AdminRequest&) {
    return AdminResponse{200, "text/plain; charset=utf-8", "LIVE\n"};
  });
  std::string error;
  ASSERT_TRUE(admin.start("[::1]", 0, error)) << error;
  std::thread loop([&dispatcher] { dispatcher.run(); });
  HttpReply reply = httpRequest("GET", "/ready", admin.port(), AF_INET6, "::1");
  dispatcher.post([&dispatcher] { dispatcher.exit(); });
  loop.join();
  EXPECT_EQ(reply.status, 200);
  EXPECT_EQ(reply.body, "LIVE\n");
}

}  // namespace
}  // namespace remora::server
