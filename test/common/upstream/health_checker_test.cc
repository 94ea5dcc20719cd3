// Active health checks against real loopback servers, on a real dispatcher.

#include "source/common/upstream/health_checker.h"

#include <sys/socket.h>

#include <atomic>

#include "gtest/gtest.h"
#include "source/common/common/random_generator.h"
#include "source/common/event/libevent_dispatcher.h"
#include "source/common/stats/store_impl.h"
#include "test/common/network/test_utils.h"
#include "test/integration/fake_upstream.h"
#include "test/integration/test_net.h"

namespace remora::upstream {
namespace {

using network::test::runUntil;
using std::chrono::milliseconds;

// Answers every request with the status `status` holds, recording the request.
class StatusServer {
 public:
  StatusServer()
      : server_([this](int fd) {
          std::string request;
          char c;
          while (request.find("\r\n\r\n") == std::string::npos && ::recv(fd, &c, 1, 0) == 1) {
            request += c;
          }
          last_request = request;
          std::string response = "HTTP/1.1 " + std::to_string(status.load()) +
                                 " X\r\ncontent-length: 0\r\nconnection: close\r\n\r\n";
          ::send(fd, response.data(), response.size(), MSG_NOSIGNAL);
        }) {}
  uint16_t port() const { return server_.port(); }
  std::atomic<int> status{200};
  std::string last_request;

 private:
  test::FakeUpstream server_;
};

HostConstSharedPtr hostAt(uint16_t port) {
  auto host = std::make_shared<Host>();
  host->address = *network::Address::fromIpPort("127.0.0.1", port);
  return host;
}

class HealthCheckerTest : public ::testing::Test {
 protected:
  HealthCheckConfig fastConfig(HealthCheckConfig::Kind kind) {
    HealthCheckConfig c;
    c.kind = kind;
    c.interval = milliseconds(20);
    c.timeout = milliseconds(200);
    c.unhealthy_threshold = 2;
    c.healthy_threshold = 2;
    c.path = "/healthz";
    return c;
  }
  double count(const char* result) {
    return static_cast<double>(store_
                                   .counter("remora_cluster_health_checks_total",
                                            "Active health checks by result.",
                                            {{"cluster", "c"}, {"result", result}})
                                   .value());
  }

  event::LibeventDispatcher dispatcher_{"test"};
  MersenneRandom random_;
  stats::StoreImpl store_;
};

TEST_F(HealthCheckerTest, HttpCheckFollowsTheStatusWithThresholds) {
  StatusServer server;
  auto host = hostAt(server.port());
  HealthChecker checker(fastConfig(HealthCheckConfig::Kind::kHttp), "c", {host}, dispatcher_,
                        random_, store_);
  checker.start();
  ASSERT_TRUE(runUntil(dispatcher_, [&] { return count("success") >= 2; }));
  EXPECT_TRUE(host->healthy());
  EXPECT_EQ(server.last_request.rfind("GET /healthz HTTP/1.1\r\n", 0), 0u) << server.last_request;
  EXPECT_NE(server.last_request.find("user-agent: remora-health-check"), std::string::npos);
  // 503: unhealthy only after two failures in a row.
  server.status = 503;
  ASSERT_TRUE(runUntil(dispatcher_, [&] { return count("failure") >= 1; }));
  double failures_seen = count("failure");
  if (failures_seen < 2) {
    EXPECT_TRUE(host->healthy());
  }
  ASSERT_TRUE(runUntil(dispatcher_, [&] { return !host->healthy(); }));
  EXPECT_GE(count("failure"), 2);
  EXPECT_TRUE(host->health_flags & Host::kFailedActiveHealthCheck);
  // Back to 200: healthy after two passes.
  server.status = 200;
  ASSERT_TRUE(runUntil(dispatcher_, [&] { return host->healthy(); }));
}

TEST_F(HealthCheckerTest, ExpectedStatusesAreConfigurable) {
  StatusServer server;
  server.status = 204;
  auto host = hostAt(server.port());
  auto config = fastConfig(HealthCheckConfig::Kind::kHttp);
  config.expected_statuses = {{200, 300}};
  HealthChecker checker(config, "c", {host}, dispatcher_, random_, store_);
  checker.start();
  ASSERT_TRUE(runUntil(dispatcher_, [&] { return count("success") >= 3; }));
  EXPECT_EQ(count("failure"), 0);
}

TEST_F(HealthCheckerTest, TcpCheckAndAHostThatNeverPassed) {
  StatusServer up;
  uint16_t down_port = test::unusedPort();
  auto alive = hostAt(up.port());
  auto dead = hostAt(down_port);
  HealthChecker checker(fastConfig(HealthCheckConfig::Kind::kTcp), "c", {alive, dead}, dispatcher_,
                        random_, store_);
  checker.start();
  // A host that never passed goes unhealthy on its first failure.
  ASSERT_TRUE(runUntil(dispatcher_, [&] { return !dead->healthy(); }));
  ASSERT_TRUE(runUntil(dispatcher_, [&] { return count("success") >= 3; }));
  EXPECT_TRUE(alive->healthy());
}

TEST_F(HealthCheckerTest, SilentHostTimesOut) {
  // Accepts and never answers.
  test::FakeUpstream silent([](int fd) {
    char buf[256];
    while (::recv(fd, buf, sizeof(buf), 0) > 0) {
    }
  });
  auto host = hostAt(silent.port());
  HealthChecker checker(fastConfig(HealthCheckConfig::Kind::kHttp), "c", {host}, dispatcher_,
                        random_, store_);
  checker.start();
  ASSERT_TRUE(runUntil(dispatcher_, [&] { return !host->healthy(); }));
}

}  // namespace
}  // namespace remora::upstream
