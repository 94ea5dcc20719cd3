// Discovery over remora-pilot's TLS port with the proxy's workload identity, both real
// binaries: pilot with its CA (token-authenticated certificate requests) and the plaintext
// port off; the proxy with `workload_identity` and `ads_config.workload_identity_tls`.
// - The proxy gets a certificate, then its configuration over TLS; pilot admits it as the
//   identity its certificate proves; when that certificate expires pilot ends the stream and
//   the proxy's reconnect, with its renewed certificate, is admitted again.
// - A pilot whose certificate lacks the name the proxy expects is refused by the proxy.
// - A proxy whose bootstrap claims another service account's pod is refused by pilot.

#include <regex>

#include "gtest/gtest.h"
#include "test/integration/pilot_process.h"
#include "test/integration/proxy_process.h"

namespace remora::test {
namespace {

using std::chrono::seconds;

constexpr const char* kIdentity = "spiffe://cluster.local/ns/default/sa/productpage";

constexpr const char* kManifests = R"(apiVersion: v1
kind: Service
metadata: {name: reviews, namespace: default}
spec:
  clusterIP: 10.96.0.20
  ports: [{name: http, port: 9080}]
---
apiVersion: v1
kind: Pod
metadata: {name: productpage-1, namespace: default}
spec: {serviceAccountName: productpage}
status: {podIP: 127.0.0.1}
---
apiVersion: v1
kind: Pod
metadata: {name: reviews-1, namespace: default}
spec: {serviceAccountName: reviews}
status: {podIP: 127.0.0.2}
)";

CommandResult sh(const std::string& script) { return runCommand({"/bin/sh", "-c", script}); }

class SecureDiscoveryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = makeTempDir();
    auto made = sh("mkdir -p " + dir_ + "/manifests && cd " + dir_ +
                   " && openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "
                   "sa.key 2>&1 && openssl pkey -in sa.key -pubout -out sa.pub 2>&1");
    ASSERT_EQ(made.exit_code, 0) << made.output;
    writeFile(dir_ + "/manifests/mesh.yaml", kManifests);
    auto token = runCommand({"source/pilot/remora-pilot", "mint-token", "--key", dir_ + "/sa.key",
                             "--namespace", "default", "--service-account", "productpage"});
    ASSERT_EQ(token.exit_code, 0) << token.output;
    writeFile(dir_ + "/token", token.output);
    monitoring_ = "127.0.0.1:" + std::to_string(unusedPort());
    pilot_.start(
        {"--manifests", dir_ + "/manifests", "--listen", "off", "--monitoring", monitoring_,
         "--ca-listen", "127.0.0.1:0", "--root-cert-out", dir_ + "/roots.pem", "--token-public-key",
         dir_ + "/sa.pub", "--outbound-address", "127.0.0.1:" + std::to_string(unusedPort()),
         "--inbound-port", std::to_string(unusedPort())},
        dir_ + "/pilot.log");
    ASSERT_TRUE(waitFor(
        [&] {
          std::smatch match;
          std::string log = pilot_.log();
          if (!std::regex_search(log, match,
                                 std::regex(R"(serving certificates on 127\.0\.0\.1:(\d+))"))) {
            return false;
          }
          ca_port_ = std::stoi(match[1]);
          return log.find("plaintext discovery off") != std::string::npos;
        },
        seconds(10)))
        << pilot_.log();
  }

  // A sidecar bootstrap for pod `pod` (service account `account`), discovery over TLS
  // expecting pilot's certificate to name `server_name` ("": the default).
  std::string bootstrap(const std::string& pod, const std::string& account,
                        const std::string& server_name = "", const std::string& ttl = "30s") {
    std::string ca =
        "{socket_address: {address: 127.0.0.1, port_value: " + std::to_string(ca_port_) + "}}";
    return "node: {id: " + pod + ".default, namespace: default, workload: " + pod +
           ", service_account: " + account +
           "}\n"
           "admin: {address: {socket_address: {address: 127.0.0.1, port_value: 0}}}\n"
           "workload_identity:\n"
           "  ca_address: " +
           ca + "\n  root_cert_file: " + dir_ + "/roots.pem\n  token_file: " + dir_ +
           "/token\n  certificate_ttl: " + ttl +
           "\n"
           "dynamic_resources:\n"
           "  lds_config: {ads: {}}\n"
           "  cds_config: {ads: {}}\n"
           "  ads_config:\n"
           "    api_type: GRPC\n"
           "    address: " +
           ca + "\n    reconnect_base_interval: 0.1s\n    reconnect_max_interval: 0.5s\n" +
           "    workload_identity_tls: {" +
           (server_name.empty() ? "" : "server_name: " + server_name) + "}\n";
  }

  std::string pilotMetrics() { return httpRequest(monitoring_, "GET", "/metrics").body; }
  double pilotMetric(const std::string& sample) {
    std::string text = pilotMetrics();
    size_t at = text.find("\n" + sample + " ");
    return at == std::string::npos ? -1 : std::stod(text.substr(at + sample.size() + 2));
  }

  std::string dir_;
  std::string monitoring_;
  int ca_port_ = 0;
  PilotProcess pilot_;
  ProxyProcess proxy_;
};

TEST_F(SecureDiscoveryTest, ProxyFetchesItsConfigOverTlsAsItsWorkloadIdentity) {
  std::string error;
  // A short certificate life: pilot ends the stream when it expires, and the proxy must come
  // back with a renewed one.
  ASSERT_TRUE(proxy_.start(bootstrap("productpage-1", "productpage", "", "5s"),
                           {"--concurrency", "1"}, error))
      << error << pilot_.log();
  EXPECT_NE(proxy_.admin("GET", "/config_dump").body.find("outbound|9080||reviews.default"),
            std::string::npos);
  EXPECT_EQ(proxy_.metric("remora_xds_connected"), 1);
  // The stream waited for the first certificate instead of connecting without one.
  EXPECT_NE(proxy_.log().find("xds: waiting for the workload certificate"), std::string::npos);
  EXPECT_GE(
      proxy_.metric("remora_tls_handshakes_total{name=\"xds\",side=\"upstream\"}").value_or(0), 1);
  EXPECT_NE(
      pilot_.log().find(std::string("pod productpage-1, state of the world, TLS as ") + kIdentity),
      std::string::npos)
      << pilot_.log();
  EXPECT_EQ(pilotMetric("pilot_xds_authenticated_streams_total"), 1) << pilotMetrics();

  ASSERT_TRUE(waitFor(
      [&] {
        return pilotMetric("pilot_xds_auth_failures_total{reason=\"certificate_expired\"}") >= 1 &&
               pilotMetric("pilot_xds_authenticated_streams_total") >= 2 &&
               proxy_.metric("remora_xds_connected") == 1;
      },
      seconds(20)))
      << pilotMetrics() << proxy_.log();
  // Only expiry ended a stream: every reconnect presented a valid, renewed certificate.
  std::string metrics = pilotMetrics();
  for (const char* reason :
       {"no_client_certificate", "bad_certificate", "namespace_mismatch",
        "service_account_mismatch", "unknown_pod", "pod_service_account_mismatch"}) {
    EXPECT_EQ(pilotMetric(std::string("pilot_xds_auth_failures_total{reason=\"") + reason + "\"}"),
              0)
        << reason << "\n"
        << metrics;
  }
}

TEST_F(SecureDiscoveryTest, ProxyRefusesAPilotWithoutTheExpectedName) {
  std::string error;
  ASSERT_TRUE(proxy_.start(bootstrap("productpage-1", "productpage", "other-pilot.example"),
                           {"--concurrency", "1"}, error, /*wait_ready=*/false))
      << error;
  // The certificate request works (that name is right)...
  ASSERT_TRUE(waitFor(
      [&] {
        return proxy_.metric("remora_workload_certificate_requests_total{result=\"issued\"}")
                   .value_or(0) >= 1;
      },
      seconds(10)))
      << proxy_.log();
  // ... the discovery handshake is not.
  ASSERT_TRUE(waitFor(
      [&] {
        std::string stats = proxy_.admin("GET", "/stats/prometheus").body;
        return std::regex_search(
            stats,
            std::regex(
                R"(remora_tls_handshake_failures_total\{name="xds",reason="san_mismatch",side="upstream"\} [1-9])"));
      },
      seconds(10)))
      << proxy_.admin("GET", "/stats/prometheus").body;
  EXPECT_EQ(proxy_.metric("remora_xds_connected"), 0);
  EXPECT_EQ(proxy_.admin("GET", "/config_dump").body.find("outbound|9080||reviews.default"),
            std::string::npos);
  EXPECT_EQ(pilotMetric("pilot_xds_authenticated_streams_total"), 0) << pilotMetrics();
}

TEST_F(SecureDiscoveryTest, PilotRefusesAProxyClaimingAnotherServiceAccountsPod) {
  // The token (and so the certificate) is productpage's; the bootstrap names reviews' pod.
  std::string error;
  ASSERT_TRUE(proxy_.start(bootstrap("reviews-1", "productpage"), {"--concurrency", "1"}, error,
                           /*wait_ready=*/false))
      << error;
  ASSERT_TRUE(waitFor(
      [&] {
        return pilotMetric(
                   "pilot_xds_auth_failures_total{reason=\"pod_service_account_mismatch\"}") >= 2;
      },
      seconds(10)))
      << pilotMetrics() << pilot_.log();
  EXPECT_EQ(pilotMetric("pilot_xds_authenticated_streams_total"), 0);
  EXPECT_NE(pilot_.log().find("pod \"default/reviews-1\" runs as service account \"reviews\""),
            std::string::npos)
      << pilot_.log();
  EXPECT_NE(proxy_.log().find("grpc-status 7"), std::string::npos) << proxy_.log();
  EXPECT_EQ(proxy_.admin("GET", "/config_dump").body.find("outbound|9080||reviews.default"),
            std::string::npos);
}

}  // namespace
}  // namespace remora::test
