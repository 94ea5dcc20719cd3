// The proxy's workload identity against a CA speaking the real protocol (gRPC over TLS, an
// in-process gRPC C++ server signing with the workload crypto library): the first certificate
// is served, renewals at the configured fraction of the lifetime drop no request on an open
// connection, a refused token keeps the current certificate and is retried, a root rotation
// (new root in the mounted file, then certificates from it) keeps both roots trusted, and the
// private key shows up nowhere.

#include <grpcpp/grpcpp.h>

#include <atomic>
#include <memory>
#include <mutex>

#include "gtest/gtest.h"
#include "remora/service/ca/v1/ca.grpc.pb.h"
#include "source/common/crypto/certificate_authority.h"
#include "test/integration/proxy_process.h"

namespace remora::test {
namespace {

using std::chrono::seconds;
namespace ca = service::ca::v1;

constexpr const char* kCaHost = "remora-pilot.istio-system.svc";
constexpr const char* kIdentity = "spiffe://cluster.local/ns/default/sa/productpage";

CommandResult sh(const std::string& script) { return runCommand({"/bin/sh", "-c", script}); }

std::string readAll(const std::string& path) {
  auto r = sh("cat " + path);
  return r.output;
}

// Stands in for remora-pilot's CA: checks the bearer token, signs the identity it maps to.
class FakeCa final : public ca::CertificateService::Service {
 public:
  FakeCa(const std::string& dir) {
    auto made = crypto::CertificateAuthority::fromPem(readAll(dir + "/root1.crt"),
                                                      readAll(dir + "/root1.key"));
    EXPECT_TRUE(made.ok()) << made.error();
    authority_ = std::move(made.value());
    grpc::SslServerCredentialsOptions tls;
    tls.pem_key_cert_pairs.push_back(
        {readAll(dir + "/ca-server.key"), readAll(dir + "/ca-server.crt")});
    grpc::ServerBuilder builder;
    builder.AddListeningPort("127.0.0.1:0", grpc::SslServerCredentials(tls), &port_);
    builder.RegisterService(this);
    server_ = builder.BuildAndStart();
  }
  ~FakeCa() override { server_->Shutdown(std::chrono::system_clock::now() + seconds(1)); }

  int port() const { return port_; }
  int issued() const { return issued_; }
  int refused() const { return refused_; }
  void rotateTo(const std::string& cert, const std::string& key) {
    std::lock_guard<std::mutex> lock(mutex_);
    auto status = authority_->rotate(cert, key);
    EXPECT_TRUE(status.ok()) << status.error();
  }

  grpc::Status CreateCertificate(grpc::ServerContext* context,
                                 const ca::CertificateRequest* request,
                                 ca::CertificateResponse* response) override {
    auto auth = context->client_metadata().find("authorization");
    if (auth == context->client_metadata().end() ||
        std::string(auth->second.data(), auth->second.size()) != "Bearer token-productpage") {
      ++refused_;
      return grpc::Status(grpc::StatusCode::UNAUTHENTICATED, "token not valid");
    }
    std::lock_guard<std::mutex> lock(mutex_);
    auto leaf = authority_->sign(request->csr(), kIdentity, seconds(request->validity_duration()));
    if (!leaf.ok()) return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, leaf.error());
    response->add_cert_chain(*leaf);
    response->add_trust_bundle(authority_->rootsPem());
    ++issued_;
    return grpc::Status::OK;
  }

 private:
  std::mutex mutex_;
  std::unique_ptr<crypto::CertificateAuthority> authority_;
  std::unique_ptr<grpc::Server> server_;
  int port_ = 0;
  std::atomic<int> issued_{0};
  std::atomic<int> refused_{0};
};

class WorkloadIdentityTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = makeTempDir();
    auto made = sh(
        "cd " + dir_ +
        " && for r in root1 root2; do openssl req -x509 -newkey ec -pkeyopt "
        "ec_paramgen_curve:P-256 -nodes -keyout $r.key -out $r.crt -days 30 -subj "
        "/O=mesh/CN=$r -addext basicConstraints=critical,CA:TRUE -addext "
        "keyUsage=critical,keyCertSign,cRLSign 2>&1 || exit 1; done"
        " && printf 'subjectAltName=DNS:" +
        std::string(kCaHost) +
        "\\nextendedKeyUsage=serverAuth\\n' > ca-server.ext"
        " && openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "
        "ca-server.key -out ca-server.csr -subj /CN=ca 2>&1 && openssl x509 -req -in "
        "ca-server.csr -CA root1.crt -CAkey root1.key -CAcreateserial -days 5 -out ca-server.crt "
        "-extfile ca-server.ext 2>&1 && cp root1.crt roots.pem && printf token-productpage > "
        "token");
    ASSERT_EQ(made.exit_code, 0) << made.output;
    ca_ = std::make_unique<FakeCa>(dir_);
    ASSERT_GT(ca_->port(), 0);
    std::string bootstrap = R"(
node: {id: productpage-1, namespace: default, service_account: productpage}
admin: {address: {socket_address: {address: 127.0.0.1, port_value: 0}}}
workload_identity:
  ca_address: {socket_address: {address: 127.0.0.1, port_value: )" +
                            std::to_string(ca_->port()) + R"(}}
  root_cert_file: )" + dir_ +
                            R"(/roots.pem
  token_file: )" + dir_ + R"(/token
  certificate_ttl: 4s
static_resources:
  listeners:
  - name: inbound
    address: {socket_address: {address: 127.0.0.1, port_value: 0}}
    filter_chains:
    - transport_socket:
        name: remora.transport_sockets.tls
        typed_config:
          "@type": type.googleapis.com/remora.extensions.transport_sockets.tls.v1.DownstreamTlsContext
          common_tls_context:
            alpn_protocols: [h2, http/1.1]
            tls_certificate_sds_secret_configs: [{name: default}]
            validation_context_sds_secret_config: {name: ROOTCA}
      filters:
      - name: remora.filters.network.http_connection_manager
        typed_config:
          "@type": type.googleapis.com/remora.extensions.filters.network.http_connection_manager.v1.HttpConnectionManager
          stat_prefix: inbound
          access_log: {path: )" +
                            dir_ + R"(/access.log}
          route_config:
            virtual_hosts:
            - name: all
              domains: ["*"]
              routes: [{match: {prefix: /}, direct_response: {status: 200, body: "ok\n"}}]
          http_filters: [{name: remora.filters.http.router}]
)";
    std::string error;
    ASSERT_TRUE(proxy_.start(bootstrap, {"--concurrency", "2"}, error)) << error;
    port_ = proxy_.listenerPort("inbound");
  }

  double issuedMetric() {
    return proxy_.metric("remora_workload_certificate_requests_total{result=\"issued\"}")
        .value_or(0);
  }
  // The certificate the listener presents, as `openssl x509 -text` prints it.
  std::string presented() {
    return sh("echo | openssl s_client -connect 127.0.0.1:" + std::to_string(port_) + " -CAfile " +
              dir_ + "/roots.pem 2>/dev/null | openssl x509 -noout -text 2>&1")
        .output;
  }

  std::string dir_;
  std::unique_ptr<FakeCa> ca_;
  ProxyProcess proxy_;
  uint16_t port_ = 0;
};

TEST_F(WorkloadIdentityTest, CertificateIsIssuedServedAndRenewedWithoutDroppingRequests) {
  ASSERT_TRUE(waitFor([&] { return issuedMetric() >= 1; }, seconds(10))) << proxy_.log();
  std::string cert = presented();
  EXPECT_NE(cert.find(std::string("URI:") + kIdentity), std::string::npos) << cert;
  auto verify = sh("echo | openssl s_client -connect 127.0.0.1:" + std::to_string(port_) +
                   " -CAfile " + dir_ + "/roots.pem 2>&1 | grep 'Verify return code'");
  EXPECT_NE(verify.output.find("Verify return code: 0"), std::string::npos) << verify.output;
  auto certs = proxy_.admin("GET", "/certs").body;
  EXPECT_NE(certs.find(kIdentity), std::string::npos) << certs;
  EXPECT_EQ(certs.find("PRIVATE KEY"), std::string::npos);
  EXPECT_EQ(proxy_.admin("GET", "/config_dump").body.find("PRIVATE KEY"), std::string::npos);
  auto expiry = proxy_.metric("remora_workload_certificate_expiry_seconds");
  ASSERT_TRUE(expiry);
  EXPECT_GT(*expiry, 0);
  EXPECT_LE(*expiry, 5);

  // One HTTP/2 connection held for 4 s at a steady rate while the certificate is renewed
  // several times underneath it: every request succeeds.
  double before = issuedMetric();
  auto load = runCommand({"/usr/bin/h2load", "-n", "200", "-c", "1", "-m", "1", "--rps", "50",
                          "https://127.0.0.1:" + std::to_string(port_) + "/"});
  EXPECT_EQ(load.exit_code, 0) << load.output;
  EXPECT_NE(load.output.find("200 succeeded, 0 failed, 0 errored"), std::string::npos)
      << load.output;
  EXPECT_GE(issuedMetric() - before, 2) << proxy_.log();
  EXPECT_NE(presented(), cert);  // a new certificate (serial, key) for new connections
}

TEST_F(WorkloadIdentityTest, RefusedRenewalKeepsTheCurrentCertificateAndRetries) {
  ASSERT_TRUE(waitFor([&] { return issuedMetric() >= 1; }, seconds(10))) << proxy_.log();
  writeFile(dir_ + "/token", "token-stolen");
  ASSERT_TRUE(waitFor([&] { return ca_->refused() >= 2; }, seconds(10))) << proxy_.log();
  EXPECT_TRUE(waitFor([&] {
    return proxy_.metric("remora_workload_certificate_requests_total{result=\"failed\"}")
               .value_or(0) >= 2;
  }));
  EXPECT_NE(proxy_.log().find("the current certificate stays in use"), std::string::npos);
  // Still serving (the certificate lasts a little longer than the retries so far).
  EXPECT_NE(presented().find(std::string("URI:") + kIdentity), std::string::npos);
  double issued = issuedMetric();
  writeFile(dir_ + "/token", "token-productpage\n");
  EXPECT_TRUE(waitFor([&] { return issuedMetric() > issued; }, seconds(40))) << proxy_.log();
}

TEST_F(WorkloadIdentityTest, RootRotationTrustsBothRootsDuringTheOverlap) {
  ASSERT_TRUE(waitFor([&] { return issuedMetric() >= 1; }, seconds(10))) << proxy_.log();
  // The operator's order: publish the new root beside the old, then sign with it.
  ASSERT_EQ(sh("cat " + dir_ + "/root1.crt " + dir_ + "/root2.crt > " + dir_ + "/roots.new && mv " +
               dir_ + "/roots.new " + dir_ + "/roots.pem")
                .exit_code,
            0);
  ca_->rotateTo(readAll(dir_ + "/root2.crt"), readAll(dir_ + "/root2.key"));
  ASSERT_TRUE(
      waitFor([&] { return presented().find("CN = root2") != std::string::npos; }, seconds(10)))
      << proxy_.log();
  // The trust bundle now holds both roots: a peer certified by either is accepted.
  auto certs = proxy_.admin("GET", "/certs").body;
  EXPECT_NE(certs.find("CN=root1"), std::string::npos) << certs;
  EXPECT_NE(certs.find("CN=root2"), std::string::npos) << certs;
  for (const char* root : {"root1", "root2"}) {
    std::string name = std::string("peer-") + root;
    auto peer = sh("cd " + dir_ + " && printf 'subjectAltName=URI:spiffe://cluster.local/ns/" +
                   "default/sa/ratings\\nextendedKeyUsage=clientAuth\\n' > " + name +
                   ".ext && openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes " +
                   "-keyout " + name + ".key -out " + name + ".csr -subj /CN=peer 2>&1 && " +
                   "openssl x509 -req -in " + name + ".csr -CA " + root + ".crt -CAkey " + root +
                   ".key -CAcreateserial -days 1 -out " + name + ".crt -extfile " + name +
                   ".ext 2>&1 && curl -sS --http1.1 -k --cert " + name + ".crt --key " + name +
                   ".key https://127.0.0.1:" + std::to_string(port_) + "/ 2>&1");
    EXPECT_TRUE(peer.output.ends_with("\nok\n")) << root << ": " << peer.output;
  }
  // The client's identity labels the request metrics and reaches the access log.
  const std::string ratings = "spiffe://cluster.local/ns/default/sa/ratings";
  std::string sample =
      "remora_http_downstream_requests_by_source_total{code_class=\"2xx\","
      "source_principal=\"" +
      ratings + "\",stat_prefix=\"inbound\"}";
  EXPECT_TRUE(waitFor([&] { return proxy_.metric(sample).value_or(0) == 2; }))
      << proxy_.admin("GET", "/stats/prometheus").body;
  EXPECT_TRUE(waitFor([&] {
    return readAll(dir_ + "/access.log").find("\"source_principal\":\"" + ratings + "\"") !=
           std::string::npos;
  })) << readAll(dir_ + "/access.log");
}

}  // namespace
}  // namespace remora::test
