// The real remora-pilot reading a scripted Kubernetes API server over TLS (--kubeconfig with
// the server's CA and a bearer token): it is not ready and pushes nothing until every kind has
// been listed, then serves the mesh to a real proxy and follows watch events; an API server
// that is down at start keeps it not ready until it comes up; flag and connection errors at
// start name the flag.

#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <string>

#include "test/integration/pilot_process.h"
#include "test/integration/proxy_process.h"
#include "test/integration/test_net.h"
#include "test/pilot/api_objects.h"
#include "test/pilot/kubernetes/fake_api_server.h"
#include "test/pilot/kubernetes/test_certificates.h"

namespace remora::test {
namespace {

using std::chrono::seconds;
namespace k8s = pilot::kubernetes::testing;

constexpr char kToken[] = "pilot-token";

// The Service "ratings" (one HTTP port) as a watch event's object.
constexpr char kRatingsService[] =
    R"({"kind":"Service","apiVersion":"v1","metadata":{"name":"ratings","namespace":"default",)"
    R"("resourceVersion":"201"},"spec":{"clusterIP":"10.96.0.21",)"
    R"("ports":[{"name":"http","port":9080,"targetPort":9080}]}})";

class PilotKubernetesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    pki_ = k8s::makeTestPki();
    ASSERT_FALSE(pki_.ca_pem.empty());
    dir_ = makeTempDir();
    writeFile(dir_ + "/ca.pem", pki_.ca_pem);
    monitoring_ = "127.0.0.1:" + std::to_string(unusedPort());
    discovery_port_ = unusedPort();
  }
  void startApiServer(int port = 0) {
    server_ = std::make_unique<k8s::FakeApiServer>(pki_.server_cert_pem, pki_.server_key_pem, port);
    server_->setAcceptedToken(kToken);
    std::vector<pilot::ManifestError> errors;
    pilot::testing::serveCollections(
        *server_,
        pilot::testing::apiCollections(pilot::loadManifests("docs/examples/mesh", errors)), 2);
  }

  // A kubeconfig whose current context is the API server on `port`: its CA by a relative path
  // (kubectl reads it relative to the file) and an inline token.
  std::string writeKubeconfig(int port) {
    std::string path = dir_ + "/kubeconfig";
    writeFile(path,
              "apiVersion: v1\nkind: Config\ncurrent-context: test\n"
              "contexts: [{name: other, context: {cluster: nowhere, user: pilot}},\n"
              "           {name: test, context: {cluster: fake, user: pilot}}]\n"
              "clusters: [{name: fake, cluster: {server: \"https://127.0.0.1:" +
                  std::to_string(port) +
                  "\", certificate-authority: ca.pem}},\n"
                  "           {name: nowhere, cluster: {server: \"https://192.0.2.1\"}}]\n"
                  "users: [{name: pilot, user: {token: " +
                  kToken + "}}]\n");
    return path;
  }

  void startPilot(int api_port) {
    pilot_.start({"--kubeconfig", writeKubeconfig(api_port), "--listen",
                  "127.0.0.1:" + std::to_string(discovery_port_), "--monitoring", monitoring_,
                  "--outbound-address", "127.0.0.1:" + std::to_string(unusedPort()),
                  "--inbound-port", std::to_string(unusedPort())},
                 dir_ + "/pilot.log");
  }

  int readyStatus() { return httpRequest(monitoring_, "GET", "/ready").status; }

  std::string bootstrap() {
    return "node: {id: productpage-1.default, namespace: default, workload: productpage-1}\n"
           "admin: {address: {socket_address: {address: 127.0.0.1, port_value: 0}}}\n"
           "dynamic_resources:\n"
           "  lds_config: {ads: {}}\n"
           "  cds_config: {ads: {}}\n"
           "  ads_config:\n"
           "    api_type: GRPC\n"
           "    address: {socket_address: {address: 127.0.0.1, port_value: " +
           std::to_string(discovery_port_) +
           "}}\n"
           "    reconnect_base_interval: 0.1s\n"
           "    reconnect_max_interval: 0.5s\n";
  }
  bool proxyHas(const std::string& cluster) {
    return proxy_.admin("GET", "/config_dump").body.find(cluster) != std::string::npos;
  }

  k8s::TestPki pki_;
  std::string dir_;
  std::string monitoring_;
  uint16_t discovery_port_ = 0;
  std::unique_ptr<k8s::FakeApiServer> server_;
  // Destroyed in reverse: the proxy, then pilot, then the API server.
  PilotProcess pilot_;
  ProxyProcess proxy_;
};

TEST_F(PilotKubernetesTest, ReadyAfterTheFirstSyncServesTheMeshAndFollowsWatchEvents) {
  startApiServer();
  // Services are not listed until released: pilot must stay not ready, and push nothing.
  server_->setListStatus("/api/v1/services", 503);
  startPilot(server_->port());
  ASSERT_TRUE(waitFor([&] {
    return server_->countRequests(
               [](const k8s::RecordedRequest& r) { return r.path == "/api/v1/services"; }) >= 2;
  })) << pilot_.log();
  ASSERT_TRUE(waitFor([&] { return readyStatus() != 0; })) << pilot_.log();  // monitoring up
  EXPECT_EQ(readyStatus(), 503) << pilot_.log();
  std::string error;
  ASSERT_TRUE(proxy_.start(bootstrap(), {"--concurrency", "1"}, error, false)) << error;
  ASSERT_TRUE(waitFor([&] { return proxy_.metric("remora_xds_connected") == 1; }))
      << proxy_.log() << pilot_.log();
  // Pilot has the proxy's requests, and sent nothing (not even an empty mesh).
  ASSERT_TRUE(waitFor([&] {
    return httpRequest(monitoring_, "GET", "/debug/syncz").body.find("productpage-1") !=
           std::string::npos;
  })) << pilot_.log();
  EXPECT_EQ(httpRequest(monitoring_, "GET", "/metrics").body.find("pilot_xds_pushes_total{"),
            std::string::npos)
      << "pushed before the first complete sync";
  EXPECT_FALSE(proxyHas("BlackHoleCluster"));

  server_->setListStatus("/api/v1/services", 0);
  ASSERT_TRUE(waitFor([&] { return readyStatus() == 200; }, seconds(20))) << pilot_.log();
  EXPECT_NE(pilot_.log().find("config from Kubernetes API server https://127.0.0.1:"),
            std::string::npos);
  ASSERT_TRUE(waitFor([&] { return proxyHas("outbound|9080||reviews.default.svc.cluster.local"); }))
      << proxy_.admin("GET", "/config_dump").body << pilot_.log();
  EXPECT_FALSE(proxyHas("ratings.default.svc.cluster.local"));

  // A Service added: a watch event reaches the proxy.
  server_->queueWatch("/api/v1/services", [](k8s::ResponseWriter& w) {
    w.startChunked(200);
    w.chunk(k8s::watchEvent("ADDED", kRatingsService));
    w.holdOpen();
  });
  EXPECT_TRUE(waitFor([&] { return proxyHas("outbound|9080||ratings.default.svc.cluster.local"); }))
      << pilot_.log();
}

TEST_F(PilotKubernetesTest, ApiServerDownAtStartIsNotReadyUntilItComesUp) {
  uint16_t api_port = unusedPort();
  startPilot(api_port);
  // Pilot has tried (and failed) to reach it, and says why.
  ASSERT_TRUE(waitFor([&] {
    return pilot_.log().find("kubernetes source: ") != std::string::npos;
  })) << pilot_.log();
  ASSERT_TRUE(waitFor([&] { return readyStatus() != 0; })) << pilot_.log();  // monitoring up
  EXPECT_EQ(readyStatus(), 503) << pilot_.log();
  EXPECT_NE(pilot_.log().find("waiting for the first complete sync"), std::string::npos);

  startApiServer(api_port);
  EXPECT_TRUE(waitFor([&] { return readyStatus() == 200; }, seconds(30))) << pilot_.log();
}

TEST_F(PilotKubernetesTest, SourceFlagErrorsNameTheFlag) {
  auto missing = runCommand(
      {"source/pilot/remora-pilot", "--kubeconfig", dir_ + "/nope", "--monitoring", monitoring_});
  EXPECT_EQ(missing.exit_code, 2) << missing.output;
  EXPECT_NE(missing.output.find("--kubeconfig: " + dir_ + "/nope"), std::string::npos)
      << missing.output;

  writeFile(dir_ + "/plain",
            "apiVersion: v1\nkind: Config\ncurrent-context: c\n"
            "contexts: [{name: c, context: {cluster: x, user: u}}]\n"
            "clusters: [{name: x, cluster: {server: \"http://127.0.0.1:1\"}}]\n"
            "users: [{name: u, user: {}}]\n");
  auto plaintext = runCommand({"source/pilot/remora-pilot", "--kubeconfig", dir_ + "/plain"});
  EXPECT_EQ(plaintext.exit_code, 2) << plaintext.output;
  EXPECT_NE(plaintext.output.find("--kubeconfig: "), std::string::npos) << plaintext.output;
  EXPECT_NE(plaintext.output.find("https://"), std::string::npos) << plaintext.output;

  auto both = runCommand(
      {"source/pilot/remora-pilot", "--manifests", dir_, "--kubeconfig", dir_ + "/plain"});
  EXPECT_EQ(both.exit_code, 1) << both.output;
  EXPECT_NE(both.output.find("--manifests, --kubernetes and --kubeconfig are mutually exclusive"),
            std::string::npos)
      << both.output;

  auto none = runCommand({"source/pilot/remora-pilot", "--listen", "off"});
  EXPECT_EQ(none.exit_code, 1) << none.output;
  EXPECT_NE(none.output.find("one of --manifests DIR, --kubernetes or --kubeconfig FILE"),
            std::string::npos)
      << none.output;
}

}  // namespace
}  // namespace remora::test
