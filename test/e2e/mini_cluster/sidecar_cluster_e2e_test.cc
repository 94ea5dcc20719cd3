// Sidecar mode end to end in a mini-cluster of network namespaces (mini_cluster.h; root only,
// skipped otherwise): applications that know nothing of the proxy, their traffic captured by
// `remora iptables`, sidecars configured by remora-pilot from Service / Endpoints / Pod
// manifests, and real clients (curl, socat, h2load) in the pods.

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <regex>
#include <thread>

#include "gtest/gtest.h"
#include "test/e2e/mini_cluster/mini_cluster.h"
#include "test/integration/test_net.h"

namespace remora::test::e2e {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

constexpr const char* kReviewsCluster = "outbound|9080||reviews.default.svc.cluster.local";

// Counts occurrences of `needle` in `text`.
size_t count(const std::string& text, const std::string& needle) {
  size_t n = 0;
  for (size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) ++n;
  return n;
}

// h2load's summary: "requests: N total, N started, N done, N succeeded, N failed, N errored".
struct LoadResult {
  int succeeded = -1;
  int failed = -1;
  int errored = -1;
  int non_2xx = -1;
  std::string output;
};

LoadResult parseH2load(const std::string& output) {
  LoadResult r;
  r.output = output;
  std::smatch m;
  if (std::regex_search(
          output, m,
          std::regex(
              R"(requests: \d+ total, \d+ started, \d+ done, (\d+) succeeded, (\d+) failed, (\d+) errored)"))) {
    r.succeeded = std::stoi(m[1]);
    r.failed = std::stoi(m[2]);
    r.errored = std::stoi(m[3]);
  }
  if (std::regex_search(
          output, m, std::regex(R"(status codes: (\d+) 2xx, (\d+) 3xx, (\d+) 4xx, (\d+) 5xx)"))) {
    r.non_2xx = std::stoi(m[2]) + std::stoi(m[3]) + std::stoi(m[4]);
  }
  return r;
}

class SidecarClusterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::getuid() != 0) GTEST_SKIP() << "needs root (network namespaces, iptables)";
    for (const char* tool : {"/usr/sbin/ip", "/usr/sbin/iptables", "/usr/sbin/nginx",
                             "/usr/bin/socat", "/usr/bin/h2load", "/usr/bin/setpriv"}) {
      if (access(tool, X_OK) != 0) GTEST_SKIP() << tool << " not installed";
    }
    std::string error;
    ASSERT_TRUE(cluster_.start({}, error)) << error;
    cluster_.addService({"productpage", "198.19.0.9", {{"app", "productpage"}}, {{"http", 9080}}});
    cluster_.addService({"reviews", "198.19.0.10", {{"app", "reviews"}}, {{"http", 9080}}});
    cluster_.addService({"echo", "198.19.0.20", {{"app", "echo"}}, {{"tcp-echo", 7000}}});
    ASSERT_TRUE(cluster_.addPod("reviews-1", "198.18.0.11", {{"app", "reviews"}, {"version", "v1"}},
                                true, error))
        << error;
    ASSERT_TRUE(cluster_.addPod("reviews-2", "198.18.0.12", {{"app", "reviews"}, {"version", "v2"}},
                                true, error))
        << error;
    ASSERT_TRUE(cluster_.addPod("echo-1", "198.18.0.20", {{"app", "echo"}}, true, error)) << error;
    // Outside the mesh: no sidecar, in no service.
    ASSERT_TRUE(cluster_.addPod("external", "198.18.200.1", {{"role", "external"}}, false, error))
        << error;
    // Last, so its proxy's first configuration already has every endpoint.
    ASSERT_TRUE(
        cluster_.addPod("productpage-1", "198.18.0.10", {{"app", "productpage"}}, true, error))
        << error;
    reviews_app_[0] = cluster_.runNginx("reviews-1", 9080, "reviews-1");
    reviews_app_[1] = cluster_.runNginx("reviews-2", 9080, "reviews-2");
    cluster_.runEcho("echo-1", 7000);
    cluster_.runNginx("external", 8080, "external");
    cluster_.runEcho("external", 7001);
  }

  CommandResult curl(const std::string& pod, std::vector<std::string> args) {
    std::vector<std::string> argv = {"/usr/bin/curl", "-s", "-m", "10"};
    for (auto& a : args) argv.push_back(a);
    return cluster_.exec(pod, argv);
  }

  // A TCP round trip with socat from a pod: what came back.
  std::string tcpEcho(const std::string& pod, const std::string& target, const std::string& text) {
    return cluster_
        .exec(pod, {"/bin/sh", "-c", "printf '" + text + "' | /usr/bin/socat -t 2 - TCP:" + target})
        .output;
  }

  // 4,000 HTTP/1.1 requests from productpage to reviews over 4 connections (h2load); returns
  // once reviews-1 has taken 500 of them, or -1 if it never does.
  // `rps_per_client` 0: as fast as it goes (about a third of a second); otherwise paced, e.g.
  // 500 spreads the 4,000 requests over 2 s.
  pid_t startLoadOnReviews(int rps_per_client = 0) {
    std::vector<std::string> args = {"/usr/bin/h2load", "--h1", "-n", "4000", "-c", "4"};
    if (rps_per_client > 0) {
      args.push_back("--rps");
      args.push_back(std::to_string(rps_per_client));
    }
    args.push_back("http://reviews:9080/");
    pid_t load = cluster_.spawn("productpage-1", args, cluster_.dir() + "/load.log");
    bool busy = waitFor(
        [&] {
          return cluster_.metric("reviews-1", "remora_cluster_upstream_requests_total",
                                 "cluster=\"inbound|9080||\"") > 500;
        },
        seconds(20));
    return busy ? load : -1;
  }

  // Waits for the load to end and reads h2load's summary.
  LoadResult finishLoad(pid_t load) {
    int status = 0;
    ::waitpid(load, &status, 0);
    return parseH2load(
        cluster_.exec("productpage-1", {"/bin/cat", cluster_.dir() + "/load.log"}).output);
  }

  MiniCluster cluster_;
  pid_t reviews_app_[2] = {-1, -1};
};

TEST_F(SidecarClusterTest, CurlReachesReviewsThroughBothSidecarsAndBothCountIt) {
  auto response = curl("productpage-1", {"http://reviews.default.svc.cluster.local:9080/"});
  EXPECT_EQ(response.exit_code, 0) << response.output;
  EXPECT_TRUE(response.output == "reviews-1\n" || response.output == "reviews-2\n")
      << response.output;
  // Short names resolve too (hosts file), and so does the ClusterIP itself.
  EXPECT_NE(curl("productpage-1", {"http://reviews:9080/"}).output.find("reviews-"),
            std::string::npos);
  EXPECT_NE(curl("productpage-1", {"http://198.19.0.10:9080/"}).output.find("reviews-"),
            std::string::npos);
  // productpage's sidecar sent 3 requests to reviews; the reviews sidecars took them in.
  EXPECT_EQ(
      cluster_.metric("productpage-1", "remora_cluster_upstream_requests_total", kReviewsCluster),
      3);
  double inbound = 0;
  for (const char* pod : {"reviews-1", "reviews-2"}) {
    inbound += cluster_.metric(pod, "remora_cluster_upstream_requests_total",
                               "cluster=\"inbound|9080||\"");
  }
  EXPECT_EQ(inbound, 3);
  // Both directions went through the HTTP connection manager (declared http port: no sniffing
  // on the outbound side).
  EXPECT_EQ(cluster_.metric("productpage-1", "remora_protocol_detection_total",
                            "listener=\"outbound\",result=\"skipped\""),
            3);
}

TEST_F(SidecarClusterTest, VirtualServiceSplitHolds) {
  cluster_.writeManifest("routing.yaml", R"(apiVersion: networking.istio.io/v1beta1
kind: DestinationRule
metadata: {name: reviews, namespace: default}
spec:
  host: reviews
  subsets:
  - {name: v1, labels: {version: v1}}
  - {name: v2, labels: {version: v2}}
---
apiVersion: networking.istio.io/v1beta1
kind: VirtualService
metadata: {name: reviews, namespace: default}
spec:
  hosts: [reviews]
  http:
  - route:
    - {destination: {host: reviews, subset: v1}, weight: 80}
    - {destination: {host: reviews, subset: v2}, weight: 20}
)");
  ASSERT_TRUE(cluster_.waitForConfig("productpage-1", "outbound|9080|v2|reviews", seconds(10)))
      << cluster_.pilotLog();
  // 400 requests over one kept-alive connection (curl's URL range).
  auto out = curl("productpage-1", {"http://reviews:9080/[1-400]"}).output;
  size_t v1 = count(out, "reviews-1");
  size_t v2 = count(out, "reviews-2");
  EXPECT_EQ(v1 + v2, 400u) << out.substr(0, 200);
  EXPECT_NEAR(static_cast<double>(v2) / 400, 0.20, 0.06) << v1 << " / " << v2;
}

TEST_F(SidecarClusterTest, PlainTcpServiceWorksAsOpaqueTcp) {
  EXPECT_EQ(tcpEcho("productpage-1", "echo:7000", "hello through the mesh\\n"),
            "hello through the mesh\n");
  EXPECT_EQ(tcpEcho("productpage-1", "198.19.0.20:7000", "by ClusterIP\\n"), "by ClusterIP\n");
  EXPECT_EQ(cluster_.metric("productpage-1", "remora_cluster_upstream_connections_total",
                            "outbound|7000||echo.default.svc.cluster.local"),
            2);
  EXPECT_EQ(cluster_.metric("echo-1", "remora_cluster_upstream_connections_total",
                            "cluster=\"inbound|7000||\""),
            2);
}

TEST_F(SidecarClusterTest, OutsideTheMeshFollowsTheOutboundTrafficPolicy) {
  // ALLOW_ANY (the default): HTTP and TCP to an address pilot does not know pass through.
  EXPECT_EQ(curl("productpage-1", {"http://198.18.200.1:8080/"}).output, "external\n");
  EXPECT_EQ(tcpEcho("productpage-1", "198.18.200.1:7001", "out\\n"), "out\n");
  EXPECT_GE(cluster_.metric("productpage-1", "remora_cluster_upstream_connections_total",
                            "cluster=\"PassthroughCluster\""),
            2);

  cluster_.writeManifest("sidecar.yaml", R"(apiVersion: networking.istio.io/v1beta1
kind: Sidecar
metadata: {name: default, namespace: default}
spec:
  outboundTrafficPolicy: {mode: REGISTRY_ONLY}
)");
  ASSERT_TRUE(cluster_.waitForConfig("productpage-1", "block_all", seconds(10)))
      << cluster_.pilotLog();
  auto blocked = curl("productpage-1", {"-w", " %{http_code}", "http://198.18.200.1:8080/"});
  EXPECT_NE(blocked.output.find("not in the service registry"), std::string::npos)
      << blocked.output;
  EXPECT_NE(blocked.output.find(" 502"), std::string::npos) << blocked.output;
  EXPECT_EQ(tcpEcho("productpage-1", "198.18.200.1:7001", "out\\n"), "");
  // Services in the registry still work.
  EXPECT_NE(curl("productpage-1", {"http://reviews:9080/"}).output.find("reviews-"),
            std::string::npos);
  EXPECT_EQ(tcpEcho("productpage-1", "echo:7000", "in\\n"), "in\n");

  cluster_.writeManifest("sidecar.yaml", "");
  ASSERT_TRUE(cluster_.waitForConfig("productpage-1", "allow_any", seconds(10)));
  EXPECT_EQ(curl("productpage-1", {"http://198.18.200.1:8080/"}).output, "external\n");
}

TEST_F(SidecarClusterTest, KillingOneReviewsAppUnderLoadGivesNoClientErrors) {
  // Once the load is well under way, reviews-1's application dies (its sidecar stays).
  pid_t load = startLoadOnReviews();
  ASSERT_GT(load, 0);
  ::kill(reviews_app_[0], SIGKILL);
  LoadResult r = finishLoad(load);
  EXPECT_EQ(r.succeeded, 4000) << r.output;
  EXPECT_EQ(r.failed, 0) << r.output;
  EXPECT_EQ(r.errored, 0) << r.output;
  EXPECT_EQ(r.non_2xx, 0) << r.output << cluster_.metricLines("productpage-1", "reviews")
                          << cluster_.metricLines("reviews-1", "inbound");
  // The failures were seen and retried on the other pod.
  EXPECT_GT(
      cluster_.metric("productpage-1", "remora_cluster_upstream_retries_total", kReviewsCluster),
      0);
}

TEST_F(SidecarClusterTest, SigtermOnASidecarUnderLoadFailsNoRequest) {
  // Paced so that the sidecar's exit (after its 1 s minimum drain) falls inside the load.
  pid_t load = startLoadOnReviews(500);
  ASSERT_GT(load, 0);
  // Termination as Kubernetes does it: the pod leaves the ready endpoints and its containers
  // get SIGTERM at the same time.
  pid_t sidecar = cluster_.pod("reviews-1").sidecar_pid;
  cluster_.setPodReady("reviews-1", false);
  ::kill(sidecar, SIGTERM);
  // The drained sidecar exits by itself (0) within its drain time, while the load still runs.
  int status = 0;
  ASSERT_EQ(::waitpid(sidecar, &status, 0), sidecar);
  cluster_.pod("reviews-1").sidecar_pid = -1;
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
  EXPECT_EQ(::waitpid(load, nullptr, WNOHANG), 0) << "the load ended before the sidecar exited";
  LoadResult r = finishLoad(load);
  EXPECT_EQ(r.succeeded, 4000) << r.output;
  EXPECT_EQ(r.failed + r.errored, 0) << r.output;
  EXPECT_EQ(r.non_2xx, 0) << r.output << cluster_.metricLines("productpage-1", "reviews");
}

TEST_F(SidecarClusterTest, TheProxysOwnTrafficToPilotIsNotCaptured) {
  // The proxy reached pilot (it is ready) without its outbound listener seeing a connection:
  // uid 1337 is exempt from capture, so there is no loop.
  EXPECT_EQ(cluster_.metric("productpage-1", "remora_listener_downstream_connections_total",
                            "listener=\"outbound\""),
            0);
  auto sockets = cluster_.exec("productpage-1", {"/bin/sh", "-c", "ss -tnp state established"});
  EXPECT_NE(sockets.output.find("198.18.0.1:15012"), std::string::npos) << sockets.output;
  // And the application's own traffic is captured: one request shows up on that listener.
  curl("productpage-1", {"http://reviews:9080/"});
  EXPECT_EQ(cluster_.metric("productpage-1", "remora_listener_downstream_connections_total",
                            "listener=\"outbound\""),
            1);
}

}  // namespace
}  // namespace remora::test::e2e
