// Two real remora-pilot processes in the Kubernetes mode (--kubeconfig, each with a token of
// its own) against one scripted API server over TLS: exactly one holds the Lease and shows it
// (pilot_leader, /debug/leader), only that one writes the istio-ca-root-cert ConfigMaps (in
// every Namespace the API server lists, holding the CA's roots), both are ready and sign a CSR
// whose token the API server's TokenReview vouches for, and SIGTERM to the leader releases the
// Lease so that the other takes over well before the lease would have expired, and publishes
// the bundle again after a root rotation.

#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <memory>
#include <regex>
#include <string>
#include <vector>

#include <grpcpp/grpcpp.h>

#include "gtest/gtest.h"
#include "remora/service/discovery/v1/discovery.grpc.pb.h"
#include "source/common/crypto/csr.h"
#include "source/common/crypto/key_pair.h"
#include "source/pilot/kubernetes/json_value.h"
#include "test/pilot/api_objects.h"
#include "test/pilot/ca/test_util.h"
#include "test/pilot/kubernetes/fake_api_server.h"
#include "test/pilot/kubernetes/test_certificates.h"

namespace remora::pilot {
namespace {

using kubernetes::JsonValue;
using std::chrono::seconds;
namespace k8s = kubernetes::testing;

constexpr char kPilot[] = "source/pilot/remora-pilot";
constexpr char kLeases[] = "/apis/coordination.k8s.io/v1/namespaces/remora-system/leases";
constexpr char kLease[] =
    "/apis/coordination.k8s.io/v1/namespaces/remora-system/leases/remora-pilot-leader";
constexpr char kWorkloadToken[] = "cart-token";
const std::vector<std::string> kNamespaces = {"default", "istio-system", "shop"};

std::string configMapsOf(const std::string& ns) {
  return "/api/v1/namespaces/" + ns + "/configmaps";
}

// One remora-pilot child process, its output in a file.
class Pilot {
 public:
  ~Pilot() { stop(SIGKILL); }
  void start(const std::vector<std::string>& args, const std::string& log_path) {
    log_path_ = log_path;
    pid_ = ::fork();
    if (pid_ == 0) {
      const std::string redirect = log_path;
      FILE* out = std::freopen(redirect.c_str(), "a", stdout);
      ::dup2(::fileno(out), 2);
      std::vector<char*> argv{const_cast<char*>(kPilot)};
      for (const std::string& arg : args) argv.push_back(const_cast<char*>(arg.c_str()));
      argv.push_back(nullptr);
      ::execv(kPilot, argv.data());
      ::_exit(127);
    }
  }
  void stop(int signal) {
    if (pid_ <= 0) return;
    ::kill(pid_, signal);
    ::waitpid(pid_, nullptr, 0);
    pid_ = -1;
  }
  std::string log() const { return ca::test::readFile(log_path_); }
  // The port of a "<prefix>127.0.0.1:PORT" log line, 0 until it is logged.
  uint16_t loggedPort(const std::string& prefix) const {
    std::smatch match;
    const std::string text = log();
    if (!std::regex_search(text, match, std::regex(prefix + R"(127\.0\.0\.1:(\d+))"))) return 0;
    return static_cast<uint16_t>(std::stoi(match[1]));
  }
  // GET http://127.0.0.1:<monitoring>/path with curl; "" when it cannot be fetched.
  std::string monitoring(const std::string& path) const {
    const uint16_t port = loggedPort("monitoring on ");
    if (port == 0) return "";
    return ca::test::runCommand("curl -s --max-time 5 http://127.0.0.1:" + std::to_string(port) +
                                path)
        .output;
  }
  // The pilot_leader sample's value: "1", "0", or "" when not scraped.
  std::string leaderMetric() const {
    std::smatch match;
    const std::string metrics = monitoring("/metrics");
    if (!std::regex_search(metrics, match, std::regex(R"(\npilot_leader\{[^}]*\} (\d))")))
      return "";
    return match[1];
  }

 private:
  pid_t pid_ = -1;
  std::string log_path_;
};

// One cluster request on the plaintext discovery port: how many clusters pilot answers with
// (0 when the stream ends without an answer).
int clustersServed(uint16_t port) {
  using remora::service::discovery::v1::AggregatedDiscoveryService;
  using remora::service::discovery::v1::DiscoveryRequest;
  using remora::service::discovery::v1::DiscoveryResponse;
  auto channel =
      grpc::CreateChannel("127.0.0.1:" + std::to_string(port), grpc::InsecureChannelCredentials());
  auto stub = AggregatedDiscoveryService::NewStub(channel);
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + seconds(10));
  auto stream = stub->StreamAggregatedResources(&context);
  DiscoveryRequest request;
  request.mutable_node()->set_id("cart-1.shop");
  request.mutable_node()->set_namespace_("shop");
  request.mutable_node()->set_workload("cart-1");
  request.set_type_url("type.googleapis.com/remora.config.cluster.v1.Cluster");
  stream->Write(request);
  DiscoveryResponse response;
  const int clusters = stream->Read(&response) ? response.resources_size() : 0;
  context.TryCancel();
  stream->Finish();
  return clusters;
}

std::string newCsr() {
  auto key = crypto::KeyPair::generate();
  auto csr = crypto::createCsr(*key, "spiffe://example.org/ns/shop/sa/cart");
  EXPECT_TRUE(csr.ok()) << csr.error();
  return *csr;
}

class KubernetesReplicasTest : public ::testing::Test {
 protected:
  void SetUp() override {
    pki_ = k8s::makeTestPki();
    ASSERT_FALSE(pki_.ca_pem.empty());
    dir_ = ca::test::makeTempDir();
    ca::test::writeFile(dir_ + "/ca.pem", pki_.ca_pem);
    server_ = std::make_unique<k8s::FakeApiServer>(pki_.server_cert_pem, pki_.server_key_pem);
    server_->setAcceptedToken("pilot-a-token");
    server_->addAcceptedToken("pilot-b-token");
    testing::ApiCollections collections;
    for (const std::string& ns : kNamespaces) {
      collections["/api/v1/namespaces"].push_back(R"({"metadata":{"name":")" + ns +
                                                  R"(","resourceVersion":"7"}})");
      server_->storeCollection(configMapsOf(ns));
    }
    testing::serveCollections(*server_, collections);
    server_->storeCollection(kLeases);
    // The API server vouches for one workload token, for the audience asked.
    server_->setTokenReviewHandler([](const std::string& body) -> std::pair<int, std::string> {
      auto request = JsonValue::parse(body);
      if (!request.ok()) return {400, "{}"};
      const JsonValue& spec = request.value().get("spec");
      const bool known = spec.get("token").asString() == kWorkloadToken;
      std::string audiences;
      for (const JsonValue& audience : spec.get("audiences").elements()) {
        audiences += (audiences.empty() ? "" : ",") + JsonValue::quote(audience.asString());
      }
      return {201,
              std::string(R"({"kind":"TokenReview","apiVersion":"authentication.k8s.io/v1",)") +
                  R"("status":{"authenticated":)" + (known ? "true" : "false") +
                  R"(,"user":{"username":"system:serviceaccount:shop:cart"},"audiences":[)" +
                  audiences + "]}}"};
    });
  }

  std::string kubeconfig(const std::string& name, const std::string& token) {
    const std::string path = dir_ + "/" + name + ".kubeconfig";
    ca::test::writeFile(path,
                        "apiVersion: v1\nkind: Config\ncurrent-context: test\n"
                        "contexts: [{name: test, context: {cluster: fake, user: pilot}}]\n"
                        "clusters: [{name: fake, cluster: {server: \"https://127.0.0.1:" +
                            std::to_string(server_->port()) +
                            "\", certificate-authority: ca.pem}}]\n"
                            "users: [{name: pilot, user: {token: " +
                            token + "}}]\n");
    return path;
  }

  // Starts replica `name` ("pilot-a"): short lease timings (testing aids) and one CA
  // directory for both, so that they sign with the same root.
  void startPilot(Pilot& pilot, const std::string& name) {
    pilot.start({"--kubeconfig",
                 kubeconfig(name, name + "-token"),
                 "--listen",
                 "127.0.0.1:0",
                 "--monitoring",
                 "127.0.0.1:0",
                 "--ca-listen",
                 "127.0.0.1:0",
                 "--ca-dir",
                 dir_ + "/cacerts",
                 "--root-cert-out",
                 dir_ + "/" + name + "-roots.pem",
                 "--trust-domain",
                 "example.org",
                 "--leader-election-identity",
                 name,
                 "--leader-election-lease-duration",
                 "10s",
                 "--leader-election-renew-deadline",
                 "5s",
                 "--leader-election-retry-period",
                 "300ms"},
                dir_ + "/" + name + ".log");
  }

  std::string leaseHolder() {
    auto lease = JsonValue::parse(server_->object(kLease));
    if (!lease.ok()) return "";
    return lease.value().get("spec").get("holderIdentity").asString();
  }

  std::string configMapBundle(const std::string& ns) {
    auto map = JsonValue::parse(server_->object(configMapsOf(ns) + "/istio-ca-root-cert"));
    if (!map.ok()) return "";
    return map.value().get("data").get("root-cert.pem").asString();
  }

  // Writes (not reads) of ConfigMaps made with `token`.
  size_t configMapWrites(const std::string& token) {
    return server_->countRequests([&](const k8s::RecordedRequest& r) {
      return r.method != "GET" && r.path.find("/configmaps") != std::string::npos &&
             r.authorization == "Bearer " + token;
    });
  }

  k8s::TestPki pki_;
  std::string dir_;
  std::unique_ptr<k8s::FakeApiServer> server_;
};

TEST_F(KubernetesReplicasTest, OneLeaderWritesTheBundleBothSignAndTheOtherTakesOverOnSigterm) {
  Pilot a;
  Pilot b;
  startPilot(a, "pilot-a");
  // The first replica creates the root in the CA directory; the second loads it.
  ASSERT_TRUE(ca::test::waitFor([&] { return a.loggedPort("serving certificates on ") != 0; }))
      << a.log();
  startPilot(b, "pilot-b");
  ASSERT_TRUE(ca::test::waitFor([&] { return b.loggedPort("serving certificates on ") != 0; }))
      << b.log();
  const std::string roots = ca::test::readFile(dir_ + "/pilot-a-roots.pem");
  ASSERT_EQ(roots, ca::test::readFile(dir_ + "/pilot-b-roots.pem"));

  // Both ready, and both serve discovery.
  for (Pilot* pilot : {&a, &b}) {
    EXPECT_TRUE(
        ca::test::waitFor([&] { return pilot->monitoring("/ready") == "ready\n"; }, seconds(20)))
        << pilot->log();
    EXPECT_GT(clustersServed(pilot->loggedPort("plaintext discovery on ")), 0) << pilot->log();
  }
  // Exactly one leads, the one the Lease names, and each says so.
  ASSERT_TRUE(ca::test::waitFor(
      [&] { return a.leaderMetric() != "" && b.leaderMetric() != "" && !leaseHolder().empty(); },
      seconds(20)))
      << a.log() << b.log();
  Pilot& leader = leaseHolder() == "pilot-a" ? a : b;
  Pilot& follower = &leader == &a ? b : a;
  const std::string leader_name = &leader == &a ? "pilot-a" : "pilot-b";
  const std::string follower_name = &leader == &a ? "pilot-b" : "pilot-a";
  EXPECT_TRUE(ca::test::waitFor([&] { return leader.leaderMetric() == "1"; })) << leader.log();
  EXPECT_EQ(follower.leaderMetric(), "0") << follower.log();
  EXPECT_NE(leader.monitoring("/debug/leader").find(R"("leader":true)"), std::string::npos);
  EXPECT_NE(follower.monitoring("/debug/leader").find(R"("leader":false)"), std::string::npos);
  EXPECT_NE(leader.log().find("pilot_leader 1, became leader"), std::string::npos) << leader.log();

  // The leader wrote the roots into every listed namespace; the follower wrote nothing.
  for (const std::string& ns : kNamespaces) {
    EXPECT_TRUE(ca::test::waitFor([&] { return configMapBundle(ns) == roots; })) << ns;
  }
  EXPECT_GE(configMapWrites(leader_name + "-token"), kNamespaces.size());
  EXPECT_EQ(configMapWrites(follower_name + "-token"), 0u);

  // Both sign through TokenReview; a token the API server does not vouch for is refused.
  for (Pilot* pilot : {&a, &b}) {
    const uint16_t port = pilot->loggedPort("serving certificates on ");
    remora::service::ca::v1::CertificateResponse response;
    grpc::Status status =
        ca::test::createCertificate(port, roots, kWorkloadToken, newCsr(), 0, response);
    EXPECT_TRUE(status.ok()) << status.error_message() << pilot->log();
    EXPECT_EQ(response.cert_chain_size(), 1);
    status = ca::test::createCertificate(port, roots, "stolen-token", newCsr(), 0, response);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAUTHENTICATED) << status.error_message();
  }
  EXPECT_TRUE(server_
                  ->waitForRequest([](const k8s::RecordedRequest& r) {
                    return r.path == "/apis/authentication.k8s.io/v1/tokenreviews" &&
                           r.body.find(R"("istio-ca")") != std::string::npos;
                  })
                  .path.size() > 0);

  // SIGTERM to the leader: it releases the Lease, and the other leads well within the
  // 10 s the lease would otherwise have to expire.
  const auto stopped = std::chrono::steady_clock::now();
  leader.stop(SIGTERM);
  EXPECT_NE(leader.log().find("stopped leading"), std::string::npos) << leader.log();
  ASSERT_TRUE(ca::test::waitFor([&] { return leaseHolder() == follower_name; }, seconds(8)))
      << leader.log() << follower.log();
  EXPECT_LT(std::chrono::steady_clock::now() - stopped, seconds(5));
  EXPECT_TRUE(ca::test::waitFor([&] { return follower.leaderMetric() == "1"; })) << follower.log();
  // The new leader checks every namespace's ConfigMap again (with its own credentials).
  EXPECT_TRUE(ca::test::waitFor([&] {
    return server_->countRequests([&](const k8s::RecordedRequest& r) {
      return r.method == "GET" && r.path.find("/istio-ca-root-cert") != std::string::npos &&
             r.authorization == "Bearer " + follower_name + "-token";
    }) >= kNamespaces.size();
  })) << follower.log();

  // A root rotation in the CA directory: the new leader publishes the bundle with both roots.
  const std::string made =
      ca::test::runCommand(
          "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 365 "
          "-subj '/O=remora/CN=second root' -addext basicConstraints=critical,CA:TRUE "
          "-addext keyUsage=critical,keyCertSign,cRLSign -keyout " +
          dir_ + "/new-key.pem -out " + dir_ + "/new-cert.pem")
          .output;
  const std::string new_root = ca::test::readFile(dir_ + "/new-cert.pem");
  ASSERT_EQ(ca::test::countCertificates(new_root), 1) << made;
  const std::string ca_dir = dir_ + "/cacerts";
  ca::test::writeFile(ca_dir + "/ca-cert.pem.new", new_root);
  ca::test::writeFile(ca_dir + "/ca-key.pem.new", ca::test::readFile(dir_ + "/new-key.pem"));
  ASSERT_EQ(std::rename((ca_dir + "/ca-cert.pem.new").c_str(), (ca_dir + "/ca-cert.pem").c_str()),
            0);
  ASSERT_EQ(std::rename((ca_dir + "/ca-key.pem.new").c_str(), (ca_dir + "/ca-key.pem").c_str()), 0);
  for (const std::string& ns : kNamespaces) {
    EXPECT_TRUE(ca::test::waitFor([&] {
      const std::string bundle = configMapBundle(ns);
      return ca::test::countCertificates(bundle) == 2 &&
             bundle.find(new_root) != std::string::npos && bundle.find(roots) != std::string::npos;
    })) << ns
        << "\n"
        << configMapBundle(ns) << follower.log();
  }
}

TEST_F(KubernetesReplicasTest, LeaderElectionFlagsNeedTheKubernetesMode) {
  ASSERT_EQ(::mkdir((dir_ + "/manifests").c_str(), 0755), 0);
  auto folder = ca::test::runCommand(std::string(kPilot) + " --manifests " + dir_ +
                                     "/manifests --leader-election-name x 2>&1");
  EXPECT_EQ(folder.exit_code, 1) << folder.output;
  EXPECT_NE(folder.output.find("--leader-election-name needs --kubernetes or --kubeconfig"),
            std::string::npos)
      << folder.output;
  auto bad = ca::test::runCommand(std::string(kPilot) + " --kubeconfig " +
                                  kubeconfig("x", "pilot-a-token") +
                                  " --leader-election-retry-period soon 2>&1");
  EXPECT_EQ(bad.exit_code, 1) << bad.output;
  EXPECT_NE(bad.output.find("--leader-election-retry-period: \"soon\""), std::string::npos)
      << bad.output;
}

}  // namespace
}  // namespace remora::pilot
