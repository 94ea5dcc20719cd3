// The hostile pod next door, end to end in the mini-cluster (mini_cluster.h; root only, skipped
// otherwise). Each test is one attack from issue 14, made from an ordinary pod (`legacy`, no
// sidecar) or a meshed one (`ratings-1`, `productpage-1`), against the `reviews-1` pod whose
// application records every request it gets (requestLog). The assertion is always about the
// target: what its application received, or that nothing arrived, and that its sidecar is
// still alive and serving.

#include <unistd.h>

#include <fstream>
#include <regex>
#include <sstream>

#include "gtest/gtest.h"
#include "test/e2e/mini_cluster/mini_cluster.h"
#include "test/integration/test_net.h"

namespace remora::test::e2e {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

constexpr const char* kReviewsIp = "198.18.0.11";
constexpr const char* kProductpageIp = "198.18.0.10";
constexpr const char* kLegacyIp = "198.18.200.1";
constexpr const char* kProductpagePrincipal = "spiffe://cluster.local/ns/default/sa/productpage";

std::string readText(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

size_t countLines(const std::string& text) {
  return static_cast<size_t>(std::count(text.begin(), text.end(), '\n'));
}

// utime + stime of a process, in seconds.
double cpuSeconds(pid_t pid) {
  std::string stat = readText("/proc/" + std::to_string(pid) + "/stat");
  size_t end = stat.rfind(')');
  if (end == std::string::npos) return -1;
  std::istringstream fields(stat.substr(end + 2));
  std::string field;
  double ticks = 0;
  for (int i = 3; i <= 15 && fields >> field; ++i) {
    if (i == 14 || i == 15) ticks += std::stod(field);
  }
  return ticks / static_cast<double>(::sysconf(_SC_CLK_TCK));
}

class HostilePodTest : public ::testing::Test {
 protected:
  // reviews-1 (sidecar; a recording nginx on 9080 answering "reviews-marker"), productpage-1 and
  // ratings-1 (callers with sidecars), legacy (no sidecar, outside the mesh). No policy yet:
  // PERMISSIVE mutual TLS, everything allowed.
  // `reviews_file_limit`: the reviews sidecar's RLIMIT_NOFILE (0: unchanged).
  void startMesh(int reviews_file_limit = 0, const std::vector<std::string>& pilot_args = {}) {
    if (::getuid() != 0) GTEST_SKIP() << "needs root (network namespaces, iptables)";
    for (const char* tool : {"/usr/sbin/ip", "/usr/sbin/iptables", "/usr/sbin/nginx",
                             "/usr/bin/socat", "/usr/bin/setpriv", "/usr/bin/prlimit"}) {
      if (access(tool, X_OK) != 0) GTEST_SKIP() << tool << " not installed";
    }
    std::string error;
    ASSERT_TRUE(cluster_.start(pilot_args, error)) << error;
    cluster_.addService({"reviews", "198.19.0.10", {{"app", "reviews"}}, {{"http", 9080}}});
    cluster_.addService({"ratings", "198.19.0.12", {{"app", "ratings"}}, {{"http", 9080}}});
    cluster_.addService({"productpage", "198.19.0.9", {{"app", "productpage"}}, {{"http", 9080}}});
    cluster_.setSidecarFileLimit(reviews_file_limit);
    ASSERT_TRUE(cluster_.addPod("reviews-1", kReviewsIp, {{"app", "reviews"}}, true, error))
        << error;
    cluster_.setSidecarFileLimit(0);
    ASSERT_TRUE(cluster_.addPod("legacy", kLegacyIp, {{"role", "legacy"}}, false, error)) << error;
    ASSERT_TRUE(cluster_.addPod("ratings-1", "198.18.0.12", {{"app", "ratings"}}, true, error))
        << error;
    ASSERT_TRUE(
        cluster_.addPod("productpage-1", kProductpageIp, {{"app", "productpage"}}, true, error))
        << error;
    MiniCluster::NginxOptions recording;
    recording.record_requests = true;
    cluster_.runNginx("reviews-1", 9080, "reviews-marker", recording);
    ASSERT_TRUE(waitFor(
        [&] { return get("productpage-1", "http://reviews:9080/") == "200 reviews-marker"; },
        seconds(15)))
        << get("productpage-1", "http://reviews:9080/")
        << readText(cluster_.pod("productpage-1").sidecar_log);
  }

  // STRICT mutual TLS for the namespace, and on reviews: only productpage may GET /reviews/*
  // (the shipped examples), and nobody may touch /admin or /admin/*, nor host admin.example.com.
  void lockDownReviews() {
    cluster_.writeManifest("peer-authentication.yaml",
                           readText("docs/examples/mesh/security/peer-authentication.yaml"));
    cluster_.writeManifest("authorization-policy.yaml",
                           readText("docs/examples/mesh/security/authorization-policy.yaml"));
    ASSERT_TRUE(waitFor(
        [&] { return get("ratings-1", "http://reviews:9080/reviews/1").starts_with("403"); },
        seconds(10)))
        << get("ratings-1", "http://reviews:9080/reviews/1");
    ASSERT_TRUE(waitFor(
        [&] {
          return get("legacy", std::string("http://") + kReviewsIp + ":9080/").starts_with("000");
        },
        seconds(10)));
    ASSERT_EQ(get("productpage-1", "http://reviews:9080/reviews/1"), "200 reviews-marker");
  }

  void denyAdminOnReviews() {
    cluster_.writeManifest("deny-admin.yaml",
                           "apiVersion: security.istio.io/v1beta1\nkind: AuthorizationPolicy\n"
                           "metadata: {name: deny-admin, namespace: default}\n"
                           "spec:\n  selector: {matchLabels: {app: reviews}}\n  action: DENY\n"
                           "  rules:\n  - to:\n    - operation: {paths: [/admin, /admin/*]}\n"
                           "  - to:\n    - operation: {hosts: [admin.example.com]}\n");
    ASSERT_TRUE(waitFor(
        [&] {
          return get("legacy", std::string("http://") + kReviewsIp + ":9080/admin") ==
                 "403 RBAC: access denied";
        },
        seconds(10)))
        << get("legacy", std::string("http://") + kReviewsIp + ":9080/admin");
  }

  // "<status> <body>" of one request from a pod, "000 " when it failed.
  std::string get(const std::string& pod, const std::string& url,
                  const std::vector<std::string>& extra = {}) {
    return cluster_.httpGet(pod, url, extra);
  }

  // Sends `bytes` from a pod to `address` (host:port) on one TCP connection and returns what
  // came back. Half-closes after `linger_s`; with `keep_writing_s`, the sending side stays open
  // that long first (a client that has not finished: a proxy may end a connection at the
  // client's FIN).
  std::string raw(const std::string& pod, const std::string& address, const std::string& bytes,
                  int linger_s = 2, int keep_writing_s = 0) {
    std::string file = cluster_.dir() + "/raw-" + std::to_string(++raw_count_) + ".bin";
    std::ofstream(file, std::ios::binary) << bytes;
    std::string input = keep_writing_s > 0
                            ? "(cat " + file + "; sleep " + std::to_string(keep_writing_s) + ") | "
                            : "";
    std::string redirect = keep_writing_s > 0 ? "" : " < " + file;
    return cluster_
        .exec(pod, {"/bin/sh", "-c",
                    input + "/usr/bin/socat -t " + std::to_string(linger_s) +
                        " -T 5 - TCP:" + address + redirect + " 2>&1"})
        .output;
  }

  // Each path, sent to reviews from outside the mesh straight to the pod (its inbound sidecar
  // decides), through a meshed caller's sidecar (both sidecars normalize) and as raw bytes
  // (curl would drop a fragment itself), is refused.
  void expectNoneReachReviews(const std::vector<std::string>& paths) {
    std::string direct = std::string("http://") + kReviewsIp + ":9080";
    for (const auto& path : paths) {
      std::string a = get("legacy", direct + path, {"--path-as-is"});
      EXPECT_FALSE(a.starts_with("200")) << path << " -> " << a;
      std::string b = get("productpage-1", "http://reviews:9080" + path, {"--path-as-is"});
      EXPECT_FALSE(b.starts_with("200")) << path << " -> " << b;
      std::string c =
          raw("legacy", std::string(kReviewsIp) + ":9080",
              "GET " + path + " HTTP/1.1\r\nHost: reviews\r\nConnection: close\r\n\r\n");
      EXPECT_EQ(c.find("200 OK"), std::string::npos) << path << " -> " << c;
    }
  }

  std::string reviewsLog() { return cluster_.requestLog("reviews-1", 9080); }

  bool sidecarReady(const std::string& pod) {
    return httpRequest(cluster_.pod(pod).readiness(), "GET", "/healthz/ready").status == 200;
  }

  MiniCluster cluster_;
  int raw_count_ = 0;
};

// A request sent to another pod's outbound port (15001) must not leave with that pod's mTLS
// identity: neither from a pod outside the mesh nor through the attacker's own sidecar.
TEST_F(HostilePodTest, AnotherPodsOutboundPortDoesNotLendItsIdentity) {
  startMesh();
  lockDownReviews();
  size_t before = countLines(reviewsLog());
  auto as_productpage = [&] {
    return cluster_.metric("reviews-1", "remora_http_downstream_requests_by_source_total",
                           std::string("source_principal=\"") + kProductpagePrincipal + "\"");
  };
  double productpage_before = as_productpage();
  std::string target = std::string("http://") + kProductpageIp + ":15001/reviews/1";
  for (const char* attacker : {"legacy", "ratings-1"}) {
    EXPECT_FALSE(get(attacker, target, {"-H", "Host: reviews:9080"}).starts_with("200"))
        << attacker;
    // Explicit-proxy form: the absolute URI names the service.
    EXPECT_FALSE(get(attacker, "http://reviews:9080/reviews/1",
                     {"--proxy", std::string("http://") + kProductpageIp + ":15001"})
                     .starts_with("200"))
        << attacker;
    // Raw, without waiting for protocol detection to give up.
    raw(attacker, std::string(kProductpageIp) + ":15001",
        "GET /reviews/1 HTTP/1.1\r\nHost: reviews:9080\r\n\r\n");
    // Silent past the attacker's own sidecar's detection timeout (100 ms), so that it passes the
    // connection through as opaque bytes, then the request.
    cluster_.exec(attacker,
                  {"/bin/sh", "-c",
                   std::string("(sleep 0.5; printf 'GET /reviews/1 HTTP/1.1\\r\\nHost: "
                               "reviews:9080\\r\\n\\r\\n'; sleep 1) | /usr/bin/socat -T 5 - TCP:") +
                       kProductpageIp + ":15001"});
  }
  EXPECT_EQ(countLines(reviewsLog()), before) << reviewsLog();
  EXPECT_EQ(as_productpage(), productpage_before) << "a request went out as productpage";
  // The pod itself still uses its sidecar as it should, captured or as an explicit proxy.
  EXPECT_EQ(get("productpage-1", "http://reviews:9080/reviews/1"), "200 reviews-marker");
  EXPECT_EQ(
      get("productpage-1", "http://reviews:9080/reviews/1", {"--proxy", "http://127.0.0.1:15001"}),
      "200 reviews-marker");
}

// An Upgrade request must not turn the connection into a raw tunnel before the upstream
// agreed: a pipelined request behind it is parsed and authorized as a request of its own.
TEST_F(HostilePodTest, UpgradeRequestDoesNotSmuggleTheNextRequest) {
  startMesh();
  denyAdminOnReviews();
  auto smuggle = [](const std::string& host) {
    return "GET /reviews/1 HTTP/1.1\r\nHost: " + host +
           "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
           "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
           "POST /admin/delete HTTP/1.1\r\nHost: " +
           host + "\r\nContent-Length: 0\r\n\r\n";
  };
  // Straight at the reviews pod from outside the mesh (PERMISSIVE; the DENY on /admin/* is the
  // policy the second request must meet) ...
  std::string answer = raw("legacy", std::string(kReviewsIp) + ":9080", smuggle("reviews"), 1, 2);
  EXPECT_EQ(reviewsLog().find("POST /admin/delete"), std::string::npos)
      << "answer: " << answer << "\nlog: " << reviewsLog();
  EXPECT_NE(answer.find("403"), std::string::npos) << answer;
  // ... and through productpage's own sidecar once only productpage may GET /reviews/* (STRICT).
  lockDownReviews();
  answer = raw("productpage-1", "reviews:9080", smuggle("reviews:9080"), 1, 2);
  EXPECT_EQ(reviewsLog().find("POST /admin/delete"), std::string::npos)
      << "answer: " << answer << "\nlog: " << reviewsLog();
  EXPECT_NE(reviewsLog().find("GET /reviews/1"), std::string::npos) << reviewsLog();
}

// Connections to the proxy's own ports, from another pod or from the pod itself, end at once:
// no connection loop, no CPU burnt, and the sidecar keeps serving.
TEST_F(HostilePodTest, TheProxysOwnPortsAreNotAWayInAndDoNotLoop) {
  startMesh();
  auto& victim = cluster_.pod("productpage-1");
  double cpu_before = cpuSeconds(victim.sidecar_pid);
  double accepted_before =
      cluster_.metric("productpage-1", "remora_listener_downstream_connections_total");
  // Opaque bytes (tcp_proxy to the original destination) and HTTP for a host nobody routes
  // (passthrough to the original destination): both would go back into the proxy.
  const std::vector<std::string> probes = {"PING loop-probe\r\n",
                                           "GET / HTTP/1.1\r\nHost: nowhere.invalid\r\n\r\n"};
  int attempts = 0;
  for (const auto& probe : probes) {
    for (const char* port : {"15001", "15006", "15000", "15020", "15053", "15090"}) {
      raw("legacy", std::string(kProductpageIp) + ":" + port, probe, 1);
      raw("ratings-1", std::string(kProductpageIp) + ":" + port, probe, 1);
      // The pod calling its own proxy's ports, by pod IP and by loopback.
      raw("productpage-1", std::string(kProductpageIp) + ":" + port, probe, 1);
      raw("productpage-1", std::string("127.0.0.1:") + port, probe, 1);
      attempts += 4;
    }
  }
  // Two more seconds for a loop to show, had one started.
  cluster_.exec("legacy", {"/bin/sleep", "2"});
  double accepted =
      cluster_.metric("productpage-1", "remora_listener_downstream_connections_total") -
      accepted_before;
  // At most one accepted connection per attempt: a loop would add one per hop.
  EXPECT_LE(accepted, attempts) << cluster_.metricLines("productpage-1", "downstream_connections");
  EXPECT_LT(cpuSeconds(victim.sidecar_pid) - cpu_before, 2.0);
  EXPECT_TRUE(sidecarReady("productpage-1"));
  EXPECT_EQ(get("productpage-1", "http://reviews:9080/"), "200 reviews-marker");
}

// A client that starts a TLS handshake and never finishes it is dropped after the handshake
// timeout (10 s by default), not held forever.
TEST_F(HostilePodTest, HandshakeThatNeverFinishesIsDropped) {
  startMesh();
  lockDownReviews();
  // A real ClientHello (what openssl s_client sends first), recorded inside the legacy pod.
  std::string hello = cluster_.dir() + "/client-hello.bin";
  auto recorded =
      cluster_.exec("legacy", {"/bin/sh", "-c",
                               "/usr/bin/socat -u TCP-LISTEN:7777,reuseaddr OPEN:" + hello +
                                   ",creat,trunc & sleep 0.2; timeout 2 openssl s_client -connect "
                                   "127.0.0.1:7777 </dev/null >/dev/null 2>&1; wait"});
  ASSERT_GT(readText(hello).size(), 100u) << recorded.output;
  // Send it to the STRICT pod and then nothing: the sidecar answers its part of the
  // handshake and waits for a client Finished that never comes. The shell keeps its end open
  // and prints how long the sidecar held the connection.
  auto held = cluster_.exec("legacy",
                            {"/bin/bash", "-c",
                             std::string("exec 3<>/dev/tcp/") + kReviewsIp + "/9080; cat " + hello +
                                 " >&3; start=$(date +%s%N); timeout 30 cat <&3 >/dev/null; "
                                 "echo held=$(( ($(date +%s%N) - start) / 1000000 ))"});
  std::smatch m;
  ASSERT_TRUE(std::regex_search(held.output, m, std::regex("held=(\\d+)"))) << held.output;
  int held_ms = std::stoi(m[1].str());
  EXPECT_GE(held_ms, 5000) << "closed before the handshake timeout: not the timeout's doing";
  EXPECT_LT(held_ms, 15000) << "held for " << held_ms << " ms";
  EXPECT_GT(cluster_.metric("reviews-1", "remora_tls_handshake_timeouts_total") +
                cluster_.metric("reviews-1", "remora_tls_handshake_failures_total", "timeout"),
            0)
      << cluster_.metricLines("reviews-1", "handshake");
  EXPECT_TRUE(sidecarReady("reviews-1"));
}

// At its descriptor limit the sidecar stops accepting for a while instead of spinning, logs a
// few lines rather than millions, stays ready, and recovers when the flood ends.
TEST_F(HostilePodTest, DescriptorExhaustionDoesNotTakeTheSidecarDown) {
  startMesh(/*reviews_file_limit=*/128);
  auto& victim = cluster_.pod("reviews-1");
  size_t log_before = readText(victim.sidecar_log).size();
  // 300 connections held open by one shell (bash's /dev/tcp), far past the limit.
  std::string flood_log = cluster_.dir() + "/flood.log";
  pid_t flood = cluster_.spawn("legacy",
                               {"/bin/bash", "-c",
                                std::string("for i in $(seq 300); do exec {fd}<>/dev/tcp/") +
                                    kReviewsIp + "/9080 || true; done; echo opened; sleep 30"},
                               flood_log);
  ASSERT_TRUE(
      waitFor([&] { return readText(flood_log).find("opened") != std::string::npos; }, seconds(20)))
      << readText(flood_log);
  double cpu_before = cpuSeconds(victim.sidecar_pid);
  cluster_.exec("legacy", {"/bin/sleep", "2"});
  EXPECT_LT(cpuSeconds(victim.sidecar_pid) - cpu_before, 1.0) << "the sidecar spins";
  EXPECT_TRUE(sidecarReady("reviews-1"));
  size_t logged = readText(victim.sidecar_log).size() - log_before;
  EXPECT_LT(logged, 20000u) << readText(victim.sidecar_log).substr(log_before, 2000);
  cluster_.stopProcess(flood);
  EXPECT_TRUE(
      waitFor([&] { return get("productpage-1", "http://reviews:9080/") == "200 reviews-marker"; },
              seconds(10)));
}

// x-forwarded-client-cert is the mesh's to set: a forged one never reaches the application;
// over mTLS the application gets the caller's verified identity.
TEST_F(HostilePodTest, ForgedClientCertHeaderNeverReachesTheApplication) {
  startMesh();
  const std::string forged =
      "By=spiffe://cluster.local/ns/default/sa/reviews;"
      "URI=spiffe://cluster.local/ns/default/sa/admin";
  EXPECT_EQ(get("productpage-1", "http://reviews:9080/xfcc-mtls",
                {"-H", "x-forwarded-client-cert: " + forged}),
            "200 reviews-marker");
  EXPECT_EQ(get("legacy", std::string("http://") + kReviewsIp + ":9080/xfcc-plain",
                {"-H", "x-forwarded-client-cert: " + forged}),
            "200 reviews-marker");
  std::string log = reviewsLog();
  EXPECT_EQ(log.find("sa/admin"), std::string::npos) << log;
  std::smatch m;
  ASSERT_TRUE(std::regex_search(log, m, std::regex("GET /xfcc-mtls [^|]*\\|[^|]*\\|([^\n]*)")))
      << log;
  EXPECT_NE(m[1].str().find(std::string("URI=") + kProductpagePrincipal), std::string::npos)
      << m[1].str();
  ASSERT_TRUE(std::regex_search(log, m, std::regex("GET /xfcc-plain [^|]*\\|[^|]*\\|([^\n]*)")))
      << log;
  EXPECT_EQ(m[1].str(), "-") << "plain text has no verified peer: no header at all";
}

// An application bound to 127.0.0.1 only is private to its pod; port 15020, where nothing of
// the proxy listens, is captured like any other port.
TEST_F(HostilePodTest, LoopbackOnlyApplicationsAndUnusedProxyPortsStayPrivate) {
  startMesh();
  MiniCluster::NginxOptions loopback_only;
  loopback_only.bind_address = "127.0.0.1";
  loopback_only.record_requests = true;
  cluster_.runNginx("reviews-1", 9091, "private", loopback_only);
  MiniCluster::NginxOptions everywhere;
  everywhere.record_requests = true;
  cluster_.runNginx("reviews-1", 15020, "app-on-15020", everywhere);
  // The pod reaches its own private application.
  EXPECT_EQ(get("reviews-1", "http://127.0.0.1:9091/"), "200 private");
  size_t on_9091 = countLines(cluster_.requestLog("reviews-1", 9091));
  size_t on_15020 = countLines(cluster_.requestLog("reviews-1", 15020));
  for (const char* attacker : {"legacy", "ratings-1"}) {
    EXPECT_FALSE(get(attacker, std::string("http://") + kReviewsIp + ":9091/").starts_with("200"))
        << attacker;
    EXPECT_FALSE(get(attacker, std::string("http://") + kReviewsIp + ":15020/").starts_with("200"))
        << attacker;
  }
  EXPECT_EQ(countLines(cluster_.requestLog("reviews-1", 9091)), on_9091)
      << cluster_.requestLog("reviews-1", 9091);
  EXPECT_EQ(countLines(cluster_.requestLog("reviews-1", 15020)), on_15020)
      << cluster_.requestLog("reviews-1", 15020);
}

// The admin port answers only inside the pod: another pod cannot stop the sidecar or read its
// configuration.
TEST_F(HostilePodTest, AdminIsNotReachableFromOtherPods) {
  startMesh();
  for (const char* attacker : {"legacy", "ratings-1"}) {
    EXPECT_FALSE(
        get(attacker, std::string("http://") + kReviewsIp + ":15000/quitquitquit", {"-X", "POST"})
            .starts_with("200"))
        << attacker;
    EXPECT_FALSE(get(attacker, std::string("http://") + kReviewsIp + ":15000/config_dump")
                     .starts_with("200"))
        << attacker;
  }
  // Readiness (15021) stays reachable, as the kubelet probes it from outside the pod, and
  // answers nothing but its probe.
  for (const char* attacker : {"legacy", "ratings-1"}) {
    std::string readiness = std::string("http://") + kReviewsIp + ":15021";
    EXPECT_EQ(get(attacker, readiness + "/healthz/ready").substr(0, 3), "200") << attacker;
    for (const char* path : {"/quitquitquit", "/config_dump", "/logging?level=trace"}) {
      EXPECT_FALSE(get(attacker, readiness + path, {"-X", "POST"}).starts_with("200"))
          << attacker << " " << path;
      EXPECT_FALSE(get(attacker, readiness + path).starts_with("200")) << attacker << " " << path;
    }
  }
  EXPECT_EQ(::kill(cluster_.pod("reviews-1").sidecar_pid, 0), 0) << "the sidecar was stopped";
  EXPECT_TRUE(sidecarReady("reviews-1"));
  // Inside the pod, admin works.
  EXPECT_TRUE(get("reviews-1", "http://127.0.0.1:15000/ready").starts_with("200"));
}

// Paths and hosts are normalized before the policy looks at them, and the application gets
// what the policy saw: none of these reach it. (`//admin` is not among them: the default mode,
// BASE, keeps runs of slashes as Istio's BASE does; MERGE_SLASHES, tested below, merges them.)
TEST_F(HostilePodTest, PathAndHostTricksDoNotGetPastADenyPolicy) {
  startMesh();
  denyAdminOnReviews();
  size_t before = countLines(reviewsLog());
  const std::vector<std::string> paths = {"/admin",
                                          "/public/../admin",
                                          "/./admin",
                                          "/%61dmin",
                                          "/public/%2e%2e/admin",
                                          "/admin%2f/x",
                                          "/admin%2F..%2F/x",
                                          "/ADMIN/../admin",
                                          "/admin/./x",
                                          "/public/%2E%2E/%61dmin",
                                          "/admin#frag",
                                          "/admin/x#",
                                          "/a/b/../../admin/",
                                          "/%2561dmin/../admin"};
  expectNoneReachReviews(paths);
  std::string direct = std::string("http://") + kReviewsIp + ":9080";
  for (const char* host : {"admin.example.com", "admin.example.com.", "ADMIN.example.com",
                           "admin.example.com.:9080", "Admin.Example.Com."}) {
    std::string a = get("legacy", direct + "/public", {"-H", std::string("Host: ") + host});
    EXPECT_FALSE(a.starts_with("200")) << host << " -> " << a;
  }
  EXPECT_EQ(countLines(reviewsLog()), before) << reviewsLog();
  // Ordinary requests still pass, and arrive as sent.
  EXPECT_EQ(get("legacy", direct + "/public/x"), "200 reviews-marker");
  EXPECT_NE(reviewsLog().find("GET /public/x HTTP/1.1"), std::string::npos) << reviewsLog();
}

// Discovery is authenticated: a pod that asks pilot for another pod's configuration (to read
// its listeners and policies) with its own certificate is refused, and pilot's plaintext port
// is not reachable from pods.
TEST_F(HostilePodTest, DiscoveryServesOnlyTheNodeTheCertificateProves) {
  startMesh();
  lockDownReviews();
  EXPECT_NE(cluster_.exec("legacy", {"/usr/bin/curl", "-s", "-m", "2", "http://198.18.0.1:15010/"})
                .exit_code,
            0)
      << "pilot's plaintext discovery answers pods";
  // A second proxy in the ratings pod, with ratings' own service-account token (so its
  // certificate says sa/ratings), first as itself (the control: it does get configuration) and
  // then claiming reviews-1, once with reviews' service account and once with its own.
  auto start_proxy = [&](const std::string& tag, const std::string& workload,
                         const std::string& service_account) {
    std::string bootstrap =
        "node:\n  id: sidecar~198.18.0.12~" + workload +
        ".default~default.svc.cluster.local\n"
        "  cluster: " +
        workload + "\n  namespace: default\n  workload: " + workload +
        "\n  service_account: " + service_account +
        "\nworkload_identity:\n"
        "  ca_address: {socket_address: {address: 198.18.0.1, port_value: 15012}}\n"
        "  root_cert_file: " +
        cluster_.dir() +
        "/root-cert.pem\n"
        "  token_file: " +
        cluster_.dir() +
        "/ratings-1.token\n"
        "admin:\n  address: {socket_address: {address: 127.0.0.1, port_value: 15100}}\n"
        "dynamic_resources:\n  ads_config:\n    api_type: DELTA_GRPC\n"
        "    address: {socket_address: {address: 198.18.0.1, port_value: 15012}}\n"
        "    workload_identity_tls: {}\n"
        "  cds_config: {ads: {}}\n  lds_config: {ads: {}}\n";
    std::string path = cluster_.dir() + "/" + tag + ".bootstrap.yaml";
    std::ofstream(path) << bootstrap;
    return cluster_.spawn("ratings-1",
                          {"/usr/bin/setpriv", "--reuid=1337", "--regid=1337", "--clear-groups",
                           cluster_.dir() + "/remora", "-c", path, "--concurrency", "1"},
                          cluster_.dir() + "/" + tag + ".log");
  };
  auto config_dump = [&] {
    return cluster_
        .exec("ratings-1", {"/usr/bin/curl", "-s", "-m", "2", "http://127.0.0.1:15100/config_dump"})
        .output;
  };
  // The sum of a pilot metric's samples whose line contains `label_text`.
  auto pilot_metric = [&](const std::string& name, const std::string& label_text) {
    std::istringstream lines(httpRequest("198.18.0.1:15014", "GET", "/metrics").body);
    std::string line;
    double sum = 0;
    while (std::getline(lines, line)) {
      if (line.rfind(name, 0) == 0 && line.find(label_text) != std::string::npos) {
        sum += std::stod(line.substr(line.rfind(' ') + 1));
      }
    }
    return sum;
  };
  auto refusals = [&] {
    // The CA refuses a certificate for another service account than the token's; discovery
    // refuses a node the certificate does not prove.
    return pilot_metric("pilot_ca_csr_total", "permission_denied") +
           pilot_metric("pilot_xds_auth_failures_total", "");
  };

  pid_t honest = start_proxy("honest", "ratings-1", "ratings");
  EXPECT_TRUE(
      waitFor([&] { return config_dump().find("outbound") != std::string::npos; }, seconds(15)))
      << config_dump() << readText(cluster_.dir() + "/honest.log");
  cluster_.stopProcess(honest);

  for (const char* claimed_account : {"reviews", "ratings"}) {
    SCOPED_TRACE(std::string("claiming reviews-1 as service account ") + claimed_account);
    double refused_before = refusals();
    std::string tag = std::string("forged-") + claimed_account;
    pid_t forged = start_proxy(tag, "reviews-1", claimed_account);
    EXPECT_TRUE(waitFor([&] { return refusals() > refused_before; }, seconds(15)))
        << readText(cluster_.dir() + "/" + tag + ".log");
    // Admin is up (the proxy runs) but nothing of reviews' configuration arrived.
    EXPECT_TRUE(waitFor([&] { return config_dump().find("{") != std::string::npos; }, seconds(5)));
    std::string dump = config_dump();
    EXPECT_EQ(dump.find("reviews-viewer"), std::string::npos) << dump.substr(0, 2000);
    EXPECT_EQ(dump.find("\"inbound\""), std::string::npos) << dump.substr(0, 2000);
    cluster_.stopProcess(forged);
  }
}

// With pilot's mesh-wide MERGE_SLASHES (for applications that merge slashes themselves, as
// nginx does), runs of slashes are merged before the policy looks: `//admin` is /admin.
TEST_F(HostilePodTest, MergeSlashesModeAlsoStopsDoubledSlashes) {
  startMesh(0, {"--path-normalization", "MERGE_SLASHES"});
  denyAdminOnReviews();
  size_t before = countLines(reviewsLog());
  expectNoneReachReviews({"//admin", "///admin/x", "/public//..//admin", "/.//admin"});
  EXPECT_EQ(countLines(reviewsLog()), before) << reviewsLog();
  EXPECT_EQ(
      get("legacy", std::string("http://") + kReviewsIp + ":9080//public//x", {"--path-as-is"}),
      "200 reviews-marker");
  EXPECT_NE(reviewsLog().find("GET /public/x HTTP/1.1"), std::string::npos) << reviewsLog();
}

}  // namespace
}  // namespace remora::test::e2e
