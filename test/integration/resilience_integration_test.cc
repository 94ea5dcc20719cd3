// Resilience against the real process: retries with scripted upstreams that fail in each way,
// circuit breakers, and session affinity through consistent hashing; curl as the client.

#include <unistd.h>

#include <atomic>
#include <mutex>
#include <set>
#include <thread>

#include "gtest/gtest.h"
#include "test/integration/fake_http_upstream.h"
#include "test/integration/proxy_process.h"

namespace remora::test {
namespace {

std::string endpoint(uint16_t port) {
  return "        - endpoint: {address: {socket_address: {address: 127.0.0.1, port_value: " +
         std::to_string(port) + "}}}\n";
}

// Cluster `pool` of `ports`; routes: /retry (5xx, connect-failure, reset; 2 retries),
// /try (per-try timeout 200 ms, retry on 5xx), /once (no retry policy).
std::string retryConfig(const std::vector<uint16_t>& ports, const std::string& cluster_extra,
                        uint16_t shadow_port) {
  std::string endpoints;
  for (uint16_t p : ports) endpoints += endpoint(p);
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
          route_config:
            virtual_hosts:
            - name: all
              domains: ["*"]
              routes:
              - match: {prefix: /retry}
                route:
                  cluster: pool
                  retry_policy: {retry_on: "5xx,connect-failure,reset", num_retries: 2,
                                 retry_back_off: {base_interval: 0.005s}}
              - match: {prefix: /try}
                route:
                  cluster: pool
                  timeout: 5s
                  retry_policy: {retry_on: "5xx", num_retries: 2, per_try_timeout: 0.2s}
              - match: {prefix: /once}
                route: {cluster: pool}
              - match: {prefix: /fault/abort}
                route: {cluster: pool}
                fault: {abort: {http_status: 503, percentage: 100}}
              - match: {prefix: /fault/grpc}
                route: {cluster: pool}
                fault: {abort: {grpc_status: 14, percentage: 100}}
              - match: {prefix: /fault/delay}
                route: {cluster: pool}
                fault: {delay: {fixed_delay: 0.3s, percentage: 100}}
              - match: {prefix: /fault/never}
                route: {cluster: pool}
                fault: {abort: {http_status: 500, percentage: 0}}
              - match: {prefix: /limited}
                route: {cluster: pool}
                rate_limit: {max_tokens: 5, fill_interval: 60s}
              - match: {prefix: /mirror}
                route:
                  cluster: pool
                  request_mirror_policies: [{cluster: shadow}]
              - match: {prefix: /sticky}
                route:
                  cluster: pool
                  hash_policy: [{header: {header_name: x-user}}]
              - match: {prefix: /cookie}
                route:
                  cluster: pool
                  hash_policy: [{cookie: {name: affinity, ttl: 60s, path: /}}]
          http_filters:
          - name: remora.filters.http.fault
          - name: remora.filters.http.local_ratelimit
          - name: remora.filters.http.router
  clusters:
  - name: shadow
    load_assignment:
      endpoints:
      - lb_endpoints:
        - endpoint: {address: {socket_address: {address: 127.0.0.1, port_value: )" +
         std::to_string(shadow_port) + R"(}}}
  - name: pool
    connect_timeout: 1s
)" + cluster_extra +
         R"(
    load_assignment:
      endpoints:
      - lb_endpoints:
)" + endpoints;
}

class RetryIntegrationTest : public ::testing::Test {
 protected:
  void start(const std::vector<uint16_t>& ports, const std::string& cluster_extra = "",
             uint16_t shadow_port = 0) {
    if (shadow_port == 0) shadow_port = unusedPort();
    std::string error;
    ASSERT_TRUE(
        proxy_.start(retryConfig(ports, cluster_extra, shadow_port), {"--concurrency", "1"}, error))
        << error;
    base_ = "http://127.0.0.1:" + std::to_string(proxy_.listenerPort("http_in"));
  }
  // The status curl saw, and the body.
  std::pair<std::string, std::string> get(const std::string& path,
                                          std::vector<std::string> extra = {}) {
    std::vector<std::string> argv = {"/usr/bin/curl", "-s", "-m", "10", "-w", "\n%{http_code}"};
    for (auto& e : extra) argv.push_back(e);
    argv.push_back(base_ + path);
    std::string out = runCommand(argv).output;
    size_t nl = out.rfind('\n');
    return {out.substr(nl + 1), out.substr(0, nl)};
  }
  double metric(const std::string& name) { return proxy_.metric(name).value_or(-1); }

  ProxyProcess proxy_;
  std::string base_;
};

TEST_F(RetryIntegrationTest, FiveHundredsAreRetriedOnTheOtherHost) {
  std::atomic<int> failing_hits{0};
  FakeUpstream failing(httpServe([&](const FakeRequest&) {
    ++failing_hits;
    return httpResponse(503, "busy");
  }));
  FakeUpstream good(
      httpServe([](const FakeRequest& r) { return httpResponse(200, "ok " + r.body); }));
  start({failing.port(), good.port()});
  for (int i = 0; i < 20; ++i) {
    auto [status, body] = get("/retry");
    EXPECT_EQ(status, "200") << body;
  }
  // Every try that reached the failing host was retried, on the other one (never twice on
  // the failing host: that would have taken a third try and shown up here).
  EXPECT_GE(failing_hits.load(), 10);
  EXPECT_LE(failing_hits.load(), 20);
  EXPECT_TRUE(waitFor([&] {
    return metric("remora_cluster_upstream_retries_total{cluster=\"pool\"}") ==
           static_cast<double>(failing_hits.load());
  })) << failing_hits.load();
  // Without a retry policy the 503 goes to the client.
  int fives = 0;
  for (int i = 0; i < 4; ++i) fives += get("/once").first == "503";
  EXPECT_EQ(fives, 2);
}

TEST_F(RetryIntegrationTest, ConnectFailuresAndResetsAreRetried) {
  uint16_t dead = unusedPort();
  FakeUpstream resetting(httpServe([](const FakeRequest&) { return std::string(); }));
  FakeUpstream good(httpServe([](const FakeRequest&) { return httpResponse(200, "fine"); }));
  start({dead, resetting.port(), good.port()});
  for (int i = 0; i < 12; ++i) {
    auto [status, body] = get("/retry");
    EXPECT_EQ(status, "200");
    EXPECT_EQ(body, "fine");
  }
}

TEST_F(RetryIntegrationTest, BodiesAreReplayedToTheRetry) {
  FakeUpstream failing(httpServe([](const FakeRequest&) { return httpResponse(500, "no"); }));
  FakeUpstream good(httpServe([](const FakeRequest& r) {
    return httpResponse(200, "got " + std::to_string(r.body.size()) + " " + r.body.substr(0, 5));
  }));
  start({failing.port(), good.port()});
  std::string body = "hello" + std::string(100000, 'x');
  std::string path = makeTempDir() + "/body";
  writeFile(path, body);
  for (int i = 0; i < 4; ++i) {
    auto [status, answer] = get("/retry", {"--data-binary", "@" + path});
    EXPECT_EQ(status, "200");
    EXPECT_EQ(answer, "got 100005 hello");
  }
}

TEST_F(RetryIntegrationTest, RetriesRunOutAndTheLastAnswerStands) {
  std::atomic<int> hits{0};
  FakeUpstream a(httpServe([&](const FakeRequest&) {
    ++hits;
    return httpResponse(503, "a");
  }));
  FakeUpstream b(httpServe([&](const FakeRequest&) {
    ++hits;
    return httpResponse(503, "b");
  }));
  start({a.port(), b.port()});
  auto [status, body] = get("/retry");
  EXPECT_EQ(status, "503");
  EXPECT_EQ(hits.load(), 3);  // the first try and two retries
}

TEST_F(RetryIntegrationTest, PerTryTimeoutMovesOnToAnotherHost) {
  std::atomic<int> hung{0};
  FakeUpstream hanging(httpServe([&](const FakeRequest&) {
    ++hung;
    return std::string("HANG");
  }));
  FakeUpstream good(httpServe([](const FakeRequest&) { return httpResponse(200, "quick"); }));
  start({hanging.port(), good.port()});
  for (int i = 0; i < 4; ++i) {
    auto start = std::chrono::steady_clock::now();
    auto [status, body] = get("/try");
    EXPECT_EQ(status, "200");
    EXPECT_EQ(body, "quick");
    EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(3));
  }
  EXPECT_GE(hung.load(), 2);
  EXPECT_TRUE(waitFor([&] {
    return metric("remora_cluster_upstream_per_try_timeouts_total{cluster=\"pool\"}") ==
           static_cast<double>(hung.load());
  })) << hung.load();
}

TEST_F(RetryIntegrationTest, MaxRequestsBreakerAnswersOverflowAtOnce) {
  FakeUpstream hanging(httpServe([](const FakeRequest&) { return std::string("HANG"); }));
  start({hanging.port()}, "    circuit_breakers: {max_requests: 2}");
  // Two requests hang upstream, their clients waiting...
  std::vector<int> held;
  for (int i = 0; i < 2; ++i) {
    held.push_back(connectLoopback(proxy_.listenerPort("http_in")));
    ASSERT_TRUE(sendAll(held.back(), "GET /once HTTP/1.1\r\nHost: a\r\n\r\n"));
  }
  ASSERT_TRUE(waitFor(
      [&] { return metric("remora_cluster_upstream_requests_active{cluster=\"pool\"}") == 2.0; }));
  EXPECT_EQ(metric("remora_cluster_circuit_breaker_open{breaker=\"requests\",cluster=\"pool\"}"),
            1.0);
  // ...so the third is refused at once, and says why.
  auto start_time = std::chrono::steady_clock::now();
  std::string out = runCommand({"/usr/bin/curl", "-s", "-i", "-m", "10", base_ + "/once"}).output;
  EXPECT_LT(std::chrono::steady_clock::now() - start_time, std::chrono::seconds(2));
  EXPECT_EQ(out.substr(0, 12), "HTTP/1.1 503") << out;
  EXPECT_NE(out.find("x-remora-overloaded: true"), std::string::npos) << out;
  EXPECT_EQ(
      metric(
          "remora_cluster_circuit_breaker_overflows_total{breaker=\"requests\",cluster=\"pool\"}"),
      1.0);
  EXPECT_EQ(
      metric("remora_http_downstream_response_flags_total{flag=\"UO\",stat_prefix=\"ingress\"}"),
      1.0);
  for (int fd : held) ::close(fd);
  // Once they are gone the breaker closes.
  EXPECT_TRUE(waitFor([&] {
    return metric("remora_cluster_circuit_breaker_open{breaker=\"requests\",cluster=\"pool\"}") ==
           0.0;
  }));
}

TEST_F(RetryIntegrationTest, FailingHostIsEjectedAndListedSo) {
  FakeUpstream failing(httpServe([](const FakeRequest&) { return httpResponse(503, "bad"); }));
  FakeUpstream good1(httpServe([](const FakeRequest&) { return httpResponse(200, "ok"); }));
  FakeUpstream good2(httpServe([](const FakeRequest&) { return httpResponse(200, "ok"); }));
  start({failing.port(), good1.port(), good2.port()},
        "    outlier_detection: {consecutive_5xx: 3, max_ejection_percent: 50, "
        "base_ejection_time: 30s}");
  int failures = 0;
  for (int i = 0; i < 30; ++i) failures += get("/once").first != "200";
  // Three 503s in a row from the failing host eject it; after that only good hosts answer.
  EXPECT_EQ(failures, 3);
  EXPECT_EQ(metric("remora_cluster_outlier_ejections_active{cluster=\"pool\"}"), 1.0);
  EXPECT_EQ(
      metric("remora_cluster_outlier_ejections_total{cluster=\"pool\",reason=\"consecutive_5xx\"}"),
      1.0);
  std::string clusters = proxy_.admin("GET", "/clusters").body;
  std::string bad = "pool::127.0.0.1:" + std::to_string(failing.port()) + "::";
  EXPECT_NE(clusters.find(bad + "health_flags::/failed_outlier_check"), std::string::npos)
      << clusters;
  EXPECT_NE(clusters.find(bad + "outlier_ejections::1"), std::string::npos);
  EXPECT_NE(clusters.find(bad + "rq_error::3"), std::string::npos);
}

TEST_F(RetryIntegrationTest, FaultsAreInjectedPerRoute) {
  std::atomic<int> hits{0};
  FakeUpstream good(httpServe([&](const FakeRequest&) {
    ++hits;
    return httpResponse(200, "ok");
  }));
  start({good.port()});
  EXPECT_EQ(get("/fault/abort").first, "503");
  std::string grpc =
      runCommand({"/usr/bin/curl", "-s", "-i", "-m", "10", base_ + "/fault/grpc"}).output;
  EXPECT_EQ(grpc.substr(0, 12), "HTTP/1.1 200") << grpc;
  EXPECT_NE(grpc.find("grpc-status: 14"), std::string::npos) << grpc;
  EXPECT_EQ(hits.load(), 0) << "an aborted request reached the upstream";
  auto start_time = std::chrono::steady_clock::now();
  EXPECT_EQ(get("/fault/delay").second, "ok");
  EXPECT_GE(std::chrono::steady_clock::now() - start_time, std::chrono::milliseconds(300));
  for (int i = 0; i < 5; ++i) EXPECT_EQ(get("/fault/never").first, "200");
  EXPECT_EQ(metric("remora_http_fault_aborts_injected_total{listener=\"http_in\"}"), 2.0);
  EXPECT_EQ(metric("remora_http_fault_delays_injected_total{listener=\"http_in\"}"), 1.0);
  EXPECT_EQ(
      metric("remora_http_downstream_response_flags_total{flag=\"FI\",stat_prefix=\"ingress\"}"),
      2.0);
}

TEST_F(RetryIntegrationTest, RateLimitedRouteAnswers429WithHints) {
  FakeUpstream good(httpServe([](const FakeRequest&) { return httpResponse(200, "ok"); }));
  start({good.port()});
  for (int i = 0; i < 5; ++i) EXPECT_EQ(get("/limited").first, "200");
  std::string out =
      runCommand({"/usr/bin/curl", "-s", "-i", "-m", "10", base_ + "/limited"}).output;
  EXPECT_EQ(out.substr(0, 12), "HTTP/1.1 429") << out;
  EXPECT_NE(out.find("x-ratelimit-limit: 5"), std::string::npos) << out;
  EXPECT_NE(out.find("x-ratelimit-remaining: 0"), std::string::npos);
  EXPECT_NE(out.find("x-ratelimit-reset: "), std::string::npos);
  // Other routes are not limited.
  EXPECT_EQ(get("/once").first, "200");
  EXPECT_EQ(metric("remora_http_local_rate_limited_total{listener=\"http_in\"}"), 1.0);
}

TEST_F(RetryIntegrationTest, ActiveHealthCheckTakesAFailingHostOut) {
  auto serve = [](bool healthy) {
    return httpServe([healthy](const FakeRequest& r) {
      if (r.requestLine().find("/healthz") != std::string::npos) {
        return httpResponse(healthy ? 200 : 503, "");
      }
      return httpResponse(200, healthy ? "good" : "sick");
    });
  };
  FakeUpstream sick(serve(false));
  FakeUpstream good1(serve(true));
  FakeUpstream good2(serve(true));
  start({sick.port(), good1.port(), good2.port()},
        "    health_checks: [{interval: 0.1s, timeout: 1s, unhealthy_threshold: 2, "
        "http_health_check: {path: /healthz}}]");
  std::string bad = "pool::127.0.0.1:" + std::to_string(sick.port()) + "::";
  ASSERT_TRUE(waitFor([&] {
    return proxy_.admin("GET", "/clusters").body.find(bad + "health_flags::/failed_active_hc") !=
           std::string::npos;
  }));
  // Every worker sees it: no request reaches the sick host now.
  for (int i = 0; i < 12; ++i) EXPECT_EQ(get("/once").second, "good");
  EXPECT_GE(metric("remora_cluster_health_checks_total{cluster=\"pool\",result=\"failure\"}"), 1.0);
  EXPECT_GE(metric("remora_cluster_health_checks_total{cluster=\"pool\",result=\"success\"}"), 2.0);
}

TEST_F(RetryIntegrationTest, MirroredCopiesGoToTheShadowWithoutSlowingTheRequest) {
  FakeUpstream real(httpServe([](const FakeRequest& r) {
    return httpResponse(200, "real " + std::to_string(r.body.size()));
  }));
  std::mutex mutex;
  std::vector<FakeRequest> mirrored;
  std::atomic<bool> release{false};
  FakeUpstream shadow(httpServe([&](const FakeRequest& r) {
    {
      std::lock_guard<std::mutex> lock(mutex);
      mirrored.push_back(r);
    }
    // A slow shadow: the real response must not wait for it.
    while (!release) std::this_thread::sleep_for(std::chrono::milliseconds(5));
    return httpResponse(500, "ignored");
  }));
  // Lets the shadow answer however this test ends (it is destroyed before `shadow`).
  struct Release {
    std::atomic<bool>& flag;
    ~Release() { flag = true; }
  } release_on_exit{release};
  start({real.port()}, "", shadow.port());
  auto start_time = std::chrono::steady_clock::now();
  auto [status, body] = get("/mirror/x", {"--data-binary", "payload", "-H", "Host: svc:8080"});
  EXPECT_EQ(status, "200");
  EXPECT_EQ(body, "real 7");
  EXPECT_LT(std::chrono::steady_clock::now() - start_time, std::chrono::seconds(2));
  ASSERT_TRUE(waitFor([&] {
    std::lock_guard<std::mutex> lock(mutex);
    return !mirrored.empty();
  }));
  {
    std::lock_guard<std::mutex> lock(mutex);
    EXPECT_EQ(mirrored[0].header("host"), "svc-shadow:8080");
    EXPECT_EQ(mirrored[0].body, "payload");
    EXPECT_NE(mirrored[0].requestLine().find("POST /mirror/x"), std::string::npos);
  }
  release = true;
  EXPECT_EQ(metric("remora_cluster_upstream_mirror_requests_total{cluster=\"shadow\"}"), 1.0);
  // Routes without a mirror send nothing to the shadow.
  get("/once");
  std::lock_guard<std::mutex> lock(mutex);
  EXPECT_EQ(mirrored.size(), 1u);
}

TEST(StreamIdleTimeoutTest, AStalledRequestIsEndedAndTheLimitsOfAVirtualHostApply) {
  FakeUpstream hanging(httpServe([](const FakeRequest& r) {
    if (r.requestLine().find("/hang") != std::string::npos) return std::string("HANG");
    return httpResponse(200, "ok");
  }));
  std::string config = R"(
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
          stream_idle_timeout: 0.3s
          route_config:
            virtual_hosts:
            - name: all
              domains: ["*"]
              rate_limit: {max_tokens: 3, fill_interval: 60s}
              routes:
              - {match: {prefix: /}, route: {cluster: pool, timeout: 0s}}
          http_filters:
          - name: remora.filters.http.local_ratelimit
          - name: remora.filters.http.router
  clusters:
  - name: pool
    load_assignment:
      endpoints:
      - lb_endpoints:
        - endpoint: {address: {socket_address: {address: 127.0.0.1, port_value: )" +
                       std::to_string(hanging.port()) + "}}}\n";
  ProxyProcess proxy;
  std::string error;
  ASSERT_TRUE(proxy.start(config, {"--concurrency", "1"}, error)) << error;
  std::string base = "http://127.0.0.1:" + std::to_string(proxy.listenerPort("http_in"));
  // No route timeout: only the stream idle timeout ends a request nothing happens on.
  auto start_time = std::chrono::steady_clock::now();
  std::string status = runCommand({"/usr/bin/curl", "-s", "-o", "/dev/null", "-w", "%{http_code}",
                                   "-m", "10", base + "/hang"})
                           .output;
  auto took = std::chrono::steady_clock::now() - start_time;
  EXPECT_EQ(status, "504");
  EXPECT_GE(took, std::chrono::milliseconds(300));
  EXPECT_LT(took, std::chrono::seconds(5));
  // The virtual host's bucket (3 tokens, one taken above) is shared by its routes.
  for (int i = 0; i < 2; ++i) {
    EXPECT_EQ(runCommand({"/usr/bin/curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "-m",
                          "10", base + "/ok"})
                  .output,
              "200");
  }
  EXPECT_EQ(runCommand({"/usr/bin/curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "-m", "10",
                        base + "/ok"})
                .output,
            "429");
}

class SessionAffinityTest : public RetryIntegrationTest,
                            public ::testing::WithParamInterface<std::string> {
 protected:
  void SetUp() override {
    for (int i = 0; i < 3; ++i) {
      upstreams_.push_back(std::make_unique<FakeUpstream>(httpServe(
          [i](const FakeRequest&) { return httpResponse(200, "backend-" + std::to_string(i)); })));
    }
    start({upstreams_[0]->port(), upstreams_[1]->port(), upstreams_[2]->port()},
          "    lb_policy: " + GetParam());
  }
  std::vector<std::unique_ptr<FakeUpstream>> upstreams_;
};

TEST_P(SessionAffinityTest, SameHeaderSameHost) {
  std::set<std::string> all;
  for (int user = 0; user < 30; ++user) {
    std::string header = "x-user: user-" + std::to_string(user);
    std::string first = get("/sticky", {"-H", header}).second;
    for (int again = 0; again < 3; ++again) {
      EXPECT_EQ(get("/sticky", {"-H", header}).second, first) << header;
    }
    all.insert(first);
  }
  EXPECT_EQ(all.size(), 3u) << "30 users should reach every host";
}

TEST_P(SessionAffinityTest, MadeUpCookieKeepsTheClientOnItsHost) {
  std::string out = runCommand({"/usr/bin/curl", "-s", "-i", "-m", "10", base_ + "/cookie"}).output;
  size_t at = out.find("set-cookie: affinity=");
  ASSERT_NE(at, std::string::npos) << out;
  std::string cookie = out.substr(at + 12, out.find(';', at) - at - 12);
  EXPECT_NE(out.find("Max-Age=60; Path=/; HttpOnly"), std::string::npos) << out;
  std::string first = out.substr(out.find("backend-"));
  for (int i = 0; i < 5; ++i) {
    auto [status, body] = get("/cookie", {"-H", "Cookie: other=1; " + cookie});
    EXPECT_EQ(body, first);
  }
}

INSTANTIATE_TEST_SUITE_P(ConsistentHashing, SessionAffinityTest,
                         ::testing::Values("RING_HASH", "MAGLEV"));

}  // namespace
}  // namespace remora::test
