// Mesh security end to end in the mini-cluster (mini_cluster.h; root only, skipped otherwise):
// sidecars get their SPIFFE certificates from remora-pilot's CA and talk mutual TLS to each
// other on their own (automatic mTLS); a capture on the pod's bridge port shows no plaintext; the
// shipped PeerAuthentication (STRICT) and AuthorizationPolicy examples act as documented;
// certificates renewed under steady load lose no request.

#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <regex>
#include <sstream>

#include "gtest/gtest.h"
#include "test/e2e/mini_cluster/mini_cluster.h"
#include "test/integration/test_net.h"

namespace remora::test::e2e {
namespace {

using std::chrono::seconds;

constexpr const char* kReviewsIp = "198.18.0.11";
constexpr const char* kProductpage = "spiffe://cluster.local/ns/default/sa/productpage";

std::string readText(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// The text around the first `needle` in `text` ("" when absent), for failure messages.
std::string excerptAround(const std::string& text, const std::string& needle) {
  size_t at = text.find(needle);
  if (at == std::string::npos) return "";
  size_t from = at > 200 ? at - 200 : 0;
  return text.substr(from, 400);
}

class MeshSecurityTest : public ::testing::Test {
 protected:
  // productpage-1 and ratings-1 (callers with sidecars), reviews-1 (sidecar, nginx answering
  // "reviews-marker"), legacy (no sidecar, outside the mesh).
  void startMesh(const std::string& certificate_ttl = "") {
    if (::getuid() != 0) GTEST_SKIP() << "needs root (network namespaces, iptables)";
    for (const char* tool : {"/usr/sbin/ip", "/usr/sbin/iptables", "/usr/sbin/nginx",
                             "/usr/bin/h2load", "/usr/bin/setpriv", "/usr/bin/tcpdump"}) {
      if (access(tool, X_OK) != 0) GTEST_SKIP() << tool << " not installed";
    }
    std::string error;
    ASSERT_TRUE(cluster_.start({}, error)) << error;
    if (!certificate_ttl.empty()) cluster_.setCertificateTtl(certificate_ttl);
    cluster_.addService({"reviews", "198.19.0.10", {{"app", "reviews"}}, {{"http", 9080}}});
    cluster_.addService({"ratings", "198.19.0.12", {{"app", "ratings"}}, {{"http", 9080}}});
    cluster_.addService({"productpage", "198.19.0.9", {{"app", "productpage"}}, {{"http", 9080}}});
    ASSERT_TRUE(cluster_.addPod("reviews-1", kReviewsIp, {{"app", "reviews"}}, true, error))
        << error;
    ASSERT_TRUE(cluster_.addPod("legacy", "198.18.200.1", {{"role", "legacy"}}, false, error))
        << error;
    ASSERT_TRUE(cluster_.addPod("ratings-1", "198.18.0.12", {{"app", "ratings"}}, true, error))
        << error;
    ASSERT_TRUE(
        cluster_.addPod("productpage-1", "198.18.0.10", {{"app", "productpage"}}, true, error))
        << error;
    cluster_.runNginx("reviews-1", 9080, "reviews-marker");
    // Both callers have their certificate and reach reviews.
    ASSERT_TRUE(waitFor(
        [&] { return get("productpage-1", "http://reviews:9080/") == "200 reviews-marker"; },
        seconds(15)))
        << get("productpage-1", "http://reviews:9080/")
        << readText(cluster_.pod("productpage-1").sidecar_log);
  }

  // "<status> <body>" of one request from a pod, "000 " when it failed.
  std::string get(const std::string& pod, const std::string& url,
                  const std::vector<std::string>& extra = {}) {
    return cluster_.httpGet(pod, url, extra);
  }

  void applyExample(const std::string& name) {
    cluster_.writeManifest(name, readText("docs/examples/mesh/security/" + name));
  }

  MiniCluster cluster_;
};

TEST_F(MeshSecurityTest, PodToPodTrafficIsMutualTlsOnTheWire) {
  startMesh();
  std::string capture = cluster_.dir() + "/bridge.pcap";
  std::string log = cluster_.dir() + "/tcpdump.log";
  pid_t tcpdump =
      cluster_.spawnRoot({"/usr/bin/tcpdump", "-i", cluster_.pod("reviews-1").bridge_port,
                          "--immediate-mode", "-U", "-n", "-w", capture, "tcp port 9080"},
                         log);
  ASSERT_TRUE(
      waitFor([&] { return readText(log).find("listening on") != std::string::npos; }, seconds(10)))
      << readText(log);
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(get("productpage-1", "http://reviews:9080/page?n=" + std::to_string(i)),
              "200 reviews-marker");
  }
  cluster_.stopProcess(tcpdump);
  auto dump = runCommand({"/usr/bin/tcpdump", "-r", capture, "-A", "-n"});
  ASSERT_EQ(dump.exit_code, 0) << dump.output;
  // Packets went by (the capture saw the exchange) and none of them carried the HTTP in clear.
  EXPECT_GT(std::count(dump.output.begin(), dump.output.end(), '\n'), 20)
      << dump.output << readText(log);
  for (const char* clear : {"GET /", "HTTP/1.1", "reviews-marker"}) {
    EXPECT_EQ(excerptAround(dump.output, clear), "") << "in clear on the wire: " << clear;
  }
  // The reviews sidecar terminated mTLS and knows who called.
  EXPECT_GT(cluster_.metric("reviews-1", "remora_tls_handshakes_total", "downstream"), 0);
  EXPECT_GE(cluster_.metric("reviews-1", "remora_http_downstream_requests_by_source_total",
                            std::string("source_principal=\"") + kProductpage + "\""),
            5)
      << cluster_.metricLines("reviews-1", "by_source");
}

TEST_F(MeshSecurityTest, StrictRefusesPlaintextAndPermissiveAcceptsBoth) {
  startMesh();
  std::string direct = std::string("http://") + kReviewsIp + ":9080/";
  // Default (PERMISSIVE): a client outside the mesh reaches the pod in plaintext.
  EXPECT_EQ(get("legacy", direct), "200 reviews-marker");
  applyExample("peer-authentication.yaml");
  EXPECT_TRUE(waitFor([&] { return get("legacy", direct).starts_with("000"); }, seconds(10)))
      << get("legacy", direct);
  EXPECT_GT(cluster_.metric("reviews-1", "remora_tls_handshake_failures_total", "not_tls"), 0)
      << cluster_.metricLines("reviews-1", "handshake_failures");
  EXPECT_EQ(get("productpage-1", "http://reviews:9080/"), "200 reviews-marker");

  cluster_.writeManifest("peer-authentication.yaml",
                         "apiVersion: security.istio.io/v1beta1\nkind: PeerAuthentication\n"
                         "metadata: {name: default, namespace: default}\n"
                         "spec: {mtls: {mode: PERMISSIVE}}\n");
  EXPECT_TRUE(waitFor([&] { return get("legacy", direct) == "200 reviews-marker"; }, seconds(10)));
  EXPECT_EQ(get("productpage-1", "http://reviews:9080/"), "200 reviews-marker");
}

TEST_F(MeshSecurityTest, AuthorizationPolicyLetsOnlyProductpageRead) {
  startMesh();
  applyExample("authorization-policy.yaml");
  EXPECT_TRUE(
      waitFor([&] { return get("ratings-1", "http://reviews:9080/reviews/1").starts_with("403"); },
              seconds(10)))
      << get("ratings-1", "http://reviews:9080/reviews/1");
  EXPECT_EQ(get("ratings-1", "http://reviews:9080/reviews/1"), "403 RBAC: access denied");
  EXPECT_EQ(get("productpage-1", "http://reviews:9080/reviews/1"), "200 reviews-marker");
  EXPECT_EQ(get("productpage-1", "http://reviews:9080/reviews/1", {"-X", "POST"}),
            "403 RBAC: access denied");
  EXPECT_EQ(get("productpage-1", "http://reviews:9080/details"), "403 RBAC: access denied");
  EXPECT_GE(cluster_.metric("reviews-1", "remora_rbac_decisions_total",
                            "policy=\"default/reviews-viewer\""),
            1)
      << cluster_.metricLines("reviews-1", "rbac");
  EXPECT_GE(cluster_.metric("reviews-1", "remora_rbac_decisions_total", "decision=\"denied\""), 3)
      << cluster_.metricLines("reviews-1", "rbac");
}

// Fail closed: STRICT mTLS and an ALLOW policy in one file, then broken edits of that file (a
// YAML syntax error; a typo'd field in each object). Before pilot kept last good versions, the
// syntax error dropped both objects and a plaintext client outside the mesh got 200.
TEST_F(MeshSecurityTest, BrokenEditsOfStrictAndAllowPoliciesChangeNoTraffic) {
  startMesh();
  const std::string direct = std::string("http://") + kReviewsIp + ":9080/";
  const std::string good = readText("docs/examples/mesh/security/peer-authentication.yaml") +
                           "\n---\n" +
                           readText("docs/examples/mesh/security/authorization-policy.yaml");
  auto enforced = [&] {
    return get("legacy", direct).starts_with("000") &&
           get("ratings-1", "http://reviews:9080/reviews/1") == "403 RBAC: access denied" &&
           get("productpage-1", "http://reviews:9080/reviews/1") == "200 reviews-marker";
  };
  cluster_.writeManifest("security.yaml", good);
  ASSERT_TRUE(waitFor(enforced, seconds(15))) << get("legacy", direct);
  const std::string typo_mtls = std::regex_replace(good, std::regex("mtls:"), "mtlz:");
  ASSERT_NE(typo_mtls, good);
  const std::string typo_rules = std::regex_replace(good, std::regex("rules:"), "rulez:");
  ASSERT_NE(typo_rules, good);
  int edits = 0;
  for (const std::string& broken :
       {good + "\n  - to: [{operation: {paths: [\n", typo_mtls, typo_rules}) {
    SCOPED_TRACE(edits);
    cluster_.writeManifest("security.yaml", broken);
    // Pilot has read the edit (a new problem page), then traffic stays as it was for a while
    // after: time for a wrong push to arrive.
    ++edits;
    ASSERT_TRUE(waitFor(
        [&] {
          auto page = httpRequest("198.18.0.1:15014", "GET", "/debug/config_errors").body;
          const char* wanted[] = {"parse_error", "spec.mtlz", "spec.rulez"};
          return page.find("security.yaml") != std::string::npos &&
                 page.find(wanted[edits - 1]) != std::string::npos;
        },
        seconds(10)))
        << cluster_.pilotLog();
    auto until = std::chrono::steady_clock::now() + seconds(2);
    while (std::chrono::steady_clock::now() < until) {
      ASSERT_TRUE(enforced()) << get("legacy", direct) << " / "
                              << get("ratings-1", "http://reviews:9080/reviews/1");
    }
  }
  EXPECT_NE(cluster_.pilotLog().find("security.yaml: not valid YAML"), std::string::npos)
      << cluster_.pilotLog();
  auto metrics = httpRequest("198.18.0.1:15014", "GET", "/metrics").body;
  EXPECT_NE(
      metrics.find("pilot_config_errors{kind=\"AuthorizationPolicy\",reason=\"unknown_field\"} 1"),
      std::string::npos)
      << metrics;
}

TEST_F(MeshSecurityTest, CertificateRenewalUnderSteadyLoadLosesNoRequest) {
  // Short certificates: with the CA's one-minute backdating, half their lifetime is already
  // past when they arrive, so the sidecars renew about every second.
  startMesh("20s");
  // One request per upstream connection: every request of the load is a fresh mTLS handshake
  // between the two sidecars, so handshakes keep happening while both swap certificates (open
  // connections keep theirs and would not notice a renewal).
  cluster_.writeManifest("reviews-rule.yaml",
                         "apiVersion: networking.istio.io/v1beta1\nkind: DestinationRule\n"
                         "metadata: {name: reviews, namespace: default}\n"
                         "spec:\n  host: reviews\n  trafficPolicy:\n"
                         "    connectionPool: {http: {maxRequestsPerConnection: 1}}\n");
  ASSERT_TRUE(
      cluster_.waitForConfig("productpage-1", "\"max_requests_per_connection\":1", seconds(10)))
      << cluster_.pilotLog();
  ASSERT_EQ(get("productpage-1", "http://reviews:9080/"), "200 reviews-marker");
  auto issued = [&](const std::string& pod) {
    return cluster_.metric(pod, "remora_workload_certificate_requests_total", "result=\"issued\"");
  };
  auto handshakes = [&] {
    return cluster_.metric("reviews-1", "remora_tls_handshakes_total", "side=\"downstream\"");
  };
  double productpage_before = issued("productpage-1");
  double reviews_before = issued("reviews-1");
  double handshakes_before = handshakes();
  // 1,000 requests over 4 connections at 50 requests/s each: 5 s of steady load.
  auto load = cluster_.exec("productpage-1", {"/usr/bin/h2load", "--h1", "-n", "1000", "-c", "4",
                                              "--rps", "50", "http://reviews:9080/"});
  std::smatch m;
  ASSERT_TRUE(std::regex_search(load.output, m,
                                std::regex(R"((\d+) succeeded, (\d+) failed, (\d+) errored)")))
      << load.output;
  EXPECT_EQ(m[1].str(), "1000") << load.output;
  EXPECT_EQ(m[2].str(), "0");
  EXPECT_EQ(m[3].str(), "0");
  EXPECT_NE(load.output.find("1000 2xx"), std::string::npos) << load.output;
  // Every request had a handshake of its own, and both sides renewed twice or more meanwhile.
  EXPECT_GE(handshakes() - handshakes_before, 1000)
      << cluster_.metricLines("reviews-1", "remora_tls_handshake");
  EXPECT_GE(issued("productpage-1") - productpage_before, 2)
      << cluster_.metricLines("productpage-1", "workload_certificate");
  EXPECT_GE(issued("reviews-1") - reviews_before, 2)
      << cluster_.metricLines("reviews-1", "workload_certificate");
  EXPECT_EQ(cluster_.metric("reviews-1", "remora_tls_handshake_failures_total"), 0)
      << cluster_.metricLines("reviews-1", "handshake_failures");
  EXPECT_EQ(cluster_.metric("productpage-1", "remora_tls_handshake_failures_total"), 0)
      << cluster_.metricLines("productpage-1", "handshake_failures");
}

}  // namespace
}  // namespace remora::test::e2e
