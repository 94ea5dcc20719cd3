// The real remora process proxying HTTP/1.1: curl as the client, scriptable upstreams.

#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <sstream>

#include "gtest/gtest.h"
#include "test/integration/fake_http_upstream.h"
#include "test/integration/proxy_process.h"

namespace remora::test {
namespace {

using std::chrono::seconds;

std::string httpConfig(uint16_t backend, uint16_t dead, const std::string& log_path) {
  return R"(
admin: {address: {socket_address: {address: 127.0.0.1, port_value: 0}}}
static_resources:
  listeners:
  - name: http_in
    address: {socket_address: {address: 127.0.0.1, port_value: 0}}
    filter_chains:
    - filters:
      - name: remora.filters.network.http_connection_manager
        typed_config:
          "@type": type.googleapis.com/remora.extensions.filters.network.http_connection_manager.v1.HttpConnectionManager
          stat_prefix: ingress
          max_headers_count: 20
          request_headers_timeout: 0.5s
          idle_timeout: 1s
          access_log: {path: )" +
         log_path + R"(}
          route_config:
            virtual_hosts:
            - name: all
              domains: ["*"]
              routes:
              - {match: {path: /health}, direct_response: {status: 200, body: ok}}
              - {match: {path: /old}, redirect: {path_redirect: /new, response_code: FOUND}}
              - {match: {prefix: /dead}, route: {cluster: dead}}
              - {match: {prefix: /slow}, route: {cluster: backend, timeout: 0.3s}}
              - {match: {prefix: /api/}, route: {cluster: backend, prefix_rewrite: /}}
              - match: {prefix: /app}
                route: {cluster: backend}
                response_headers_to_add: [{header: {key: x-route, value: app}}]
          http_filters:
          - name: remora.filters.http.router
  clusters:
  - name: backend
    load_assignment:
      endpoints:
      - lb_endpoints:
        - endpoint: {address: {socket_address: {address: 127.0.0.1, port_value: )" +
         std::to_string(backend) + R"(}}}
  - name: dead
    connect_timeout: 1s
    load_assignment:
      endpoints:
      - lb_endpoints:
        - endpoint: {address: {socket_address: {address: 127.0.0.1, port_value: )" +
         std::to_string(dead) + R"(}}}
)";
}

class HttpIntegrationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    upstream_ = std::make_unique<FakeUpstream>(httpServe([this](const FakeRequest& r) {
      std::string path = r.requestLine();
      if (path.find("/slow") != std::string::npos) return std::string("HANG");
      if (path.find("/reset") != std::string::npos) return std::string();
      if (path.find("/garbage") != std::string::npos) return std::string("NOT HTTP\r\n\r\n");
      last_request_ = r;
      return httpResponse(200, "saw " + r.requestLine() + " body=" + std::to_string(r.body.size()));
    }));
    std::string error;
    log_path_ = makeTempDir() + "/access.log";
    ASSERT_TRUE(proxy_.start(httpConfig(upstream_->port(), unusedPort(), log_path_),
                             {"--concurrency", "2"}, error))
        << error;
    base_ = "http://127.0.0.1:" + std::to_string(proxy_.listenerPort("http_in"));
  }

  CommandResult curl(std::vector<std::string> args) {
    std::vector<std::string> argv = {"/usr/bin/curl", "-s", "-m", "10"};
    for (auto& a : args) argv.push_back(a);
    return runCommand(argv);
  }

  // Sends raw bytes and returns everything the proxy answers before closing.
  std::string raw(const std::string& request) {
    int fd = connectLoopback(proxy_.listenerPort("http_in"));
    EXPECT_GE(fd, 0);
    sendAll(fd, request);
    bool eof = false;
    std::string response = recvUntilClosed(fd, seconds(5), &eof);
    EXPECT_TRUE(eof) << "connection left open";
    ::close(fd);
    return response;
  }

  std::unique_ptr<FakeUpstream> upstream_;
  std::string log_path_;
  FakeRequest last_request_;
  ProxyProcess proxy_;
  std::string base_;
};

TEST_F(HttpIntegrationTest, RoutesDirectResponsesAndRedirects) {
  EXPECT_EQ(curl({base_ + "/health"}).output, "ok");
  auto redirect = curl({"-i", base_ + "/old?q=1"}).output;
  EXPECT_NE(redirect.find("HTTP/1.1 302"), std::string::npos) << redirect;
  EXPECT_NE(redirect.find("location: http://127.0.0.1:"), std::string::npos);
  EXPECT_NE(redirect.find("/new?q=1"), std::string::npos);
  auto proxied = curl({"-i", base_ + "/app/x?y=1"}).output;
  EXPECT_NE(proxied.find("saw GET /app/x?y=1 HTTP/1.1 body=0"), std::string::npos) << proxied;
  EXPECT_NE(proxied.find("x-route: app"), std::string::npos);
  EXPECT_NE(curl({base_ + "/api/users"}).output.find("saw GET /users HTTP/1.1"), std::string::npos);
}

TEST_F(HttpIntegrationTest, ForwardingHeadersReachTheUpstream) {
  curl({"-H", "X-Request-Id: given-id", base_ + "/app"});
  EXPECT_EQ(last_request_.header("x-request-id"), "given-id");
  EXPECT_EQ(last_request_.header("x-forwarded-for"), "127.0.0.1");
  EXPECT_EQ(last_request_.header("x-forwarded-proto"), "http");
  curl({base_ + "/app"});
  EXPECT_EQ(last_request_.header("x-request-id").size(), 36u);
  EXPECT_NE(last_request_.header("host").rfind("127.0.0.1:", 0), std::string::npos);
}

TEST_F(HttpIntegrationTest, ErrorsCarryTheRightStatus) {
  EXPECT_EQ(curl({"-o", "/dev/null", "-w", "%{http_code}", base_ + "/nothing"}).output, "404");
  EXPECT_EQ(curl({"-o", "/dev/null", "-w", "%{http_code}", base_ + "/dead"}).output, "503");
  EXPECT_EQ(curl({"-o", "/dev/null", "-w", "%{http_code}", base_ + "/slow"}).output, "504");
  EXPECT_EQ(curl({"-o", "/dev/null", "-w", "%{http_code}", base_ + "/app/reset"}).output, "503");
  EXPECT_EQ(curl({"-o", "/dev/null", "-w", "%{http_code}", base_ + "/app/garbage"}).output, "502");
  EXPECT_TRUE(waitFor([&] {
    return proxy_.metric(
               "remora_http_downstream_requests_total{code_class=\"5xx\",stat_prefix="
               "\"ingress\"}") == 4.0;
  }));
  EXPECT_EQ(
      proxy_.metric(
          "remora_http_downstream_requests_total{code_class=\"4xx\",stat_prefix=\"ingress\"}"),
      1.0);
  // Each failure is counted under its response flag, as the access log marks it.
  auto flagged = [&](const char* flag) {
    return proxy_.metric(std::string("remora_http_downstream_response_flags_total{flag=\"") + flag +
                         "\",stat_prefix=\"ingress\"}");
  };
  EXPECT_EQ(flagged("NR"), 1.0);
  EXPECT_EQ(flagged("UF"), 1.0);
  EXPECT_EQ(flagged("UT"), 1.0);
  EXPECT_EQ(flagged("UR"), 1.0);
  EXPECT_EQ(flagged("UPE"), 1.0);
  std::string log;
  ASSERT_TRUE(waitFor([&] {
    std::ifstream in(log_path_);
    std::stringstream text;
    text << in.rdbuf();
    log = text.str();
    return std::count(log.begin(), log.end(), '\n') >= 5;
  })) << log;
  for (const char* entry : {"\"response_code\":404,\"response_flags\":\"NR\"",
                            "\"response_code\":503,\"response_flags\":\"UF\"",
                            "\"response_code\":504,\"response_flags\":\"UT\"",
                            "\"response_code\":503,\"response_flags\":\"UR\"",
                            "\"response_code\":502,\"response_flags\":\"UPE\""}) {
    EXPECT_NE(log.find(entry), std::string::npos) << entry << "\n" << log;
  }
}

TEST_F(HttpIntegrationTest, ClusterRequestMetricsAndPromtool) {
  for (int i = 0; i < 3; ++i) curl({base_ + "/app/m"});
  EXPECT_TRUE(waitFor([&] {
    return proxy_.metric(
               "remora_cluster_upstream_requests_total{cluster=\"backend\",code=\"200\"}") == 3.0;
  })) << proxy_.admin("GET", "/stats/prometheus").body;
  EXPECT_EQ(proxy_.metric("remora_cluster_upstream_request_duration_seconds_count{cluster="
                          "\"backend\"}"),
            3.0);
  EXPECT_EQ(proxy_.metric("remora_cluster_upstream_requests_active{cluster=\"backend\"}"), 0.0);
  EXPECT_EQ(proxy_.metric("remora_http_downstream_requests_active{stat_prefix=\"ingress\"}"), 0.0);
  if (access("/usr/bin/promtool", X_OK) != 0) GTEST_SKIP() << "promtool not installed";
  std::string path = makeTempDir() + "/metrics.txt";
  writeFile(path, proxy_.admin("GET", "/stats/prometheus").body);
  auto lint = runCommand({"/bin/sh", "-c", "/usr/bin/promtool check metrics < " + path});
  EXPECT_EQ(lint.exit_code, 0) << lint.output;
  EXPECT_EQ(lint.output, "");
}

TEST_F(HttpIntegrationTest, AccessLogHasOneJsonLinePerRequest) {
  curl({"-H", "X-Request-Id: log-me", base_ + "/app/logged"});
  curl({base_ + "/dead"});
  std::string log;
  ASSERT_TRUE(waitFor([&] {
    std::ifstream in(log_path_);
    std::stringstream text;
    text << in.rdbuf();
    log = text.str();
    return std::count(log.begin(), log.end(), '\n') >= 2;
  })) << log;
  EXPECT_NE(log.find("\"method\":\"GET\",\"authority\":\"127.0.0.1:"), std::string::npos) << log;
  EXPECT_NE(log.find("\"path\":\"/app/logged\",\"protocol\":\"HTTP/1.1\",\"response_code\":200,"
                     "\"response_flags\":\"-\""),
            std::string::npos)
      << log;
  EXPECT_NE(log.find("\"upstream_cluster\":\"backend\""), std::string::npos);
  EXPECT_NE(log.find("\"x_request_id\":\"log-me\""), std::string::npos);
  EXPECT_NE(log.find("\"response_code\":503,\"response_flags\":\"UF\""), std::string::npos) << log;
}

TEST(WebSocketIntegrationTest, UpgradeIsTunnelledBothWays) {
  // An upstream that accepts the upgrade, then echoes raw bytes.
  FakeUpstream upstream([](int fd) {
    std::string head;
    char c;
    while (head.find("\r\n\r\n") == std::string::npos && ::recv(fd, &c, 1, 0) == 1) head += c;
    if (head.find("pgrade: websocket") == std::string::npos &&
        head.find("upgrade: websocket") == std::string::npos) {
      return;
    }
    sendAll(fd,
            "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: "
            "Upgrade\r\n\r\n");
    char buf[4096];
    ssize_t n;
    while ((n = ::recv(fd, buf, sizeof(buf), 0)) > 0) sendAll(fd, std::string(buf, n));
  });
  ProxyProcess proxy;
  std::string error;
  ASSERT_TRUE(proxy.start(httpConfig(upstream.port(), unusedPort(), "/dev/null"),
                          {"--concurrency", "1"}, error))
      << error;
  int fd = connectLoopback(proxy.listenerPort("http_in"));
  ASSERT_GE(fd, 0);
  ASSERT_TRUE(sendAll(fd,
                      "GET /app/ws HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\n"
                      "Upgrade: websocket\r\nSec-WebSocket-Version: 13\r\n"
                      "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n"));
  std::string head;
  while (head.find("\r\n\r\n") == std::string::npos) {
    std::string more = recvExactly(fd, 1, seconds(5));
    if (more.empty()) break;
    head += more;
  }
  EXPECT_EQ(head.substr(0, 12), "HTTP/1.1 101") << head;
  EXPECT_NE(head.find("upgrade: websocket"), std::string::npos) << head;
  for (const char* message : {"\x81\x04ping", "frame two", "x"}) {
    ASSERT_TRUE(sendAll(fd, message));
    EXPECT_EQ(recvExactly(fd, std::string(message).size(), seconds(5)), message);
  }
  ::close(fd);
}

TEST_F(HttpIntegrationTest, SlowHeadersGet408AndIdleConnectionsClose) {
  // Slowloris: headers that never finish are cut off by request_headers_timeout.
  auto start = std::chrono::steady_clock::now();
  std::string response = raw("GET /app HTTP/1.1\r\nHost: a\r\nX-Slow: ");
  EXPECT_EQ(response.substr(0, 12), "HTTP/1.1 408") << response;
  EXPECT_GE(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(400));
  // A connection that stays quiet after a response is closed by idle_timeout.
  int fd = connectLoopback(proxy_.listenerPort("http_in"));
  ASSERT_TRUE(sendAll(fd, "GET /health HTTP/1.1\r\nHost: a\r\n\r\n"));
  bool eof = false;
  std::string answer = recvUntilClosed(fd, seconds(5), &eof);
  EXPECT_TRUE(eof);
  EXPECT_NE(answer.find("\r\n\r\nok"), std::string::npos);
  ::close(fd);
  EXPECT_TRUE(waitFor([&] {
    return proxy_.metric(
               "remora_http_downstream_request_headers_timeouts_total{stat_prefix=\"ingress\"}") ==
               1.0 &&
           proxy_.metric("remora_http_downstream_idle_timeouts_total{stat_prefix=\"ingress\"}") >=
               1.0;
  }));
}

TEST_F(HttpIntegrationTest, RequestBodiesStreamThrough) {
  std::string path = makeTempDir() + "/body.bin";
  {
    std::ofstream out(path, std::ios::binary);
    std::string chunk(1 << 20, 'b');
    for (int i = 0; i < 8; ++i) out << chunk;
  }
  auto fixed = curl({"--data-binary", "@" + path, base_ + "/app/upload"}).output;
  EXPECT_NE(fixed.find("body=8388608"), std::string::npos) << fixed;
  auto chunked =
      curl({"-H", "Transfer-Encoding: chunked", "--data-binary", "@" + path, base_ + "/app/upload"})
          .output;
  EXPECT_NE(chunked.find("body=8388608"), std::string::npos) << chunked;
}

TEST_F(HttpIntegrationTest, PipelinedRequestsAreAnsweredInOrder) {
  std::string response =
      raw("GET /app/1 HTTP/1.1\r\nHost: a\r\n\r\nGET /health HTTP/1.1\r\nHost: a\r\n\r\n"
          "GET /app/3 HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n");
  size_t first = response.find("saw GET /app/1");
  size_t second = response.find("\r\n\r\nok");
  size_t third = response.find("saw GET /app/3");
  ASSERT_NE(first, std::string::npos) << response;
  ASSERT_NE(second, std::string::npos) << response;
  ASSERT_NE(third, std::string::npos) << response;
  EXPECT_LT(first, second);
  EXPECT_LT(second, third);
}

TEST_F(HttpIntegrationTest, ExplicitProxyRequestsInAbsoluteForm) {
  // curl -x sends "GET http://service.example/app/proxied HTTP/1.1".
  auto out = curl({"-x", base_, "http://service.example/app/proxied?q=1"}).output;
  EXPECT_NE(out.find("saw GET /app/proxied?q=1 HTTP/1.1"), std::string::npos) << out;
  EXPECT_EQ(last_request_.header("host"), "service.example");
}

TEST_F(HttpIntegrationTest, ExpectContinueIsAnsweredBeforeTheBodyIsSent) {
  int fd = connectLoopback(proxy_.listenerPort("http_in"));
  ASSERT_GE(fd, 0);
  ASSERT_TRUE(sendAll(fd,
                      "POST /app/upload HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n"
                      "Expect: 100-continue\r\n\r\n"));
  // The interim response arrives while the body is still held back by the client.
  std::string interim;
  while (interim.find("\r\n\r\n") == std::string::npos) {
    std::string more = recvExactly(fd, 1, seconds(5));
    if (more.empty()) break;
    interim += more;
  }
  EXPECT_EQ(interim, "HTTP/1.1 100 Continue\r\n\r\n");
  ASSERT_TRUE(sendAll(fd, "hello"));
  std::string response;
  while (response.find("body=5") == std::string::npos) {
    std::string more = recvExactly(fd, 1, seconds(5));
    if (more.empty()) break;
    response += more;
  }
  EXPECT_EQ(response.substr(0, 12), "HTTP/1.1 200") << response;
  EXPECT_NE(response.find("saw POST /app/upload HTTP/1.1 body=5"), std::string::npos) << response;
  EXPECT_EQ(last_request_.header("expect"), "") << "the expectation is the proxy's to meet";
  ::close(fd);
}

TEST_F(HttpIntegrationTest, MalformedRequestsAreRefusedAndNothingIsForwarded) {
  struct Case {
    std::string request;
    std::string status;
  };
  std::string many_headers;
  for (int i = 0; i < 30; ++i) many_headers += "x-h" + std::to_string(i) + ": v\r\n";
  const Case cases[] = {
      {"POST /app HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n"
       "0\r\n\r\n",
       "400"},
      {"POST /app HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd",
       "400"},
      {"GET /app HTTP/1.1\r\nHost: a\r\nBad Header: x\r\n\r\n", "400"},
      {"GET /app HTTP/1.1\r\nHost: a\r\nX-Folded: a\r\n b\r\n\r\n", "400"},
      {std::string("GET /app HTTP/1.1\r\nHost: a\r\nX-Ctl: a\x01b\r\n\r\n"), "400"},
      {"POST /app HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", "400"},
      {"GET /app HTTP/1.1\r\nHost: a\r\n" + many_headers + "\r\n", "431"},
      {"GET /app HTTP/1.1\r\nHost: a\r\nX-Big: " + std::string(70 * 1024, 'a') + "\r\n\r\n", "431"},
  };
  last_request_ = FakeRequest{};
  for (const auto& c : cases) {
    std::string response = raw(c.request);
    EXPECT_EQ(response.substr(0, 12), "HTTP/1.1 " + c.status) << c.request.substr(0, 80);
    EXPECT_NE(response.find("connection: close"), std::string::npos);
  }
  EXPECT_EQ(last_request_.head, "") << "a malformed request reached the upstream";
}

}  // namespace
}  // namespace remora::test
