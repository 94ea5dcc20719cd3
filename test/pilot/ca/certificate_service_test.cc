// The CA's signing service over its TLS port, in process, called by a real gRPC C++ client
// that verifies the server with the trust bundle.

#include "source/pilot/ca/certificate_service.h"

#include <cstdio>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "source/common/crypto/certificate_info.h"
#include "source/common/crypto/csr.h"
#include "source/common/crypto/key_pair.h"
#include "source/common/crypto/root_certificate.h"
#include "source/pilot/ca/ca_listener.h"
#include "source/pilot/ca/ca_metrics.h"
#include "source/pilot/ca/ca_roots.h"
#include "source/pilot/ca/token_minter.h"
#include "source/pilot/ca/token_verifier.h"
#include "test/pilot/ca/test_util.h"

namespace remora::pilot::ca {
namespace {

using ::testing::HasSubstr;
using namespace std::chrono_literals;
using grpc::StatusCode;
using remora::service::ca::v1::CertificateResponse;
using std::chrono::system_clock;

constexpr char kIdentity[] = "spiffe://cluster.local/ns/shop/sa/cart";

std::string joined(const google::protobuf::RepeatedPtrField<std::string>& pems) {
  std::string all;
  for (const std::string& pem : pems) all += pem;
  return all;
}

class CertificateServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = test::makeTempDir();
    ca_dir_ = dir_ + "/cacerts";
    auto roots = CaRoots::open({ca_dir_, "", 48h}, system_clock::now());
    ASSERT_TRUE(roots.ok()) << roots.error();
    roots_ = std::move(*roots);
    test::writeFile(dir_ + "/sa.pub", *token_key_.publicKeyPem());
    auto keys = TokenKeys::load(dir_ + "/sa.pub");
    ASSERT_TRUE(keys.ok()) << keys.error();
    verifier_ = std::make_unique<TokenVerifier>(std::move(*keys), TokenVerifier::Options{});
    WorkloadCertificateService::Options options;
    options.trust_domain = "cluster.local";
    service_ = std::make_unique<WorkloadCertificateService>(roots_->authority(), *verifier_,
                                                            metrics_, options);
    listener_ = std::make_unique<CaListener>(
        roots_->authority(), *service_,
        CaListener::Options{"127.0.0.1:0", {"remora-pilot.istio-system.svc", "localhost"}});
    ASSERT_TRUE(listener_->start(system_clock::now()).ok());
    ASSERT_GT(listener_->port(), 0);
  }

  std::string token(const std::string& ns = "shop", const std::string& sa = "cart") {
    MintOptions options;
    options.ns = ns;
    options.service_account = sa;
    auto minted = mintServiceAccountToken(token_key_, options, system_clock::now());
    EXPECT_TRUE(minted.ok()) << minted.error();
    return *minted;
  }

  std::string csr(const std::string& spiffe_id = kIdentity) {
    auto made = crypto::createCsr(workload_key_, spiffe_id);
    EXPECT_TRUE(made.ok()) << made.error();
    return *made;
  }

  grpc::Status call(const std::string& bearer, const std::string& csr_pem, int64_t validity,
                    CertificateResponse& response) {
    return test::createCertificate(listener_->port(), roots_->authority().rootsPem(), bearer,
                                   csr_pem, validity, response);
  }

  std::string dir_;
  std::string ca_dir_;
  crypto::KeyPair token_key_ = *crypto::KeyPair::generate(crypto::KeyType::kRsa);
  crypto::KeyPair workload_key_ = *crypto::KeyPair::generate();
  std::unique_ptr<CaRoots> roots_;
  CaMetrics metrics_;
  std::unique_ptr<TokenVerifier> verifier_;
  std::unique_ptr<WorkloadCertificateService> service_;
  std::unique_ptr<CaListener> listener_;
};

TEST_F(CertificateServiceTest, IssuesTheTokensIdentityForADay) {
  CertificateResponse response;
  grpc::Status status = call(token(), csr(), 0, response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  ASSERT_EQ(response.cert_chain_size(), 1);
  ASSERT_EQ(response.trust_bundle_size(), 1);
  EXPECT_EQ(response.trust_bundle(0), roots_->authority().signingRootPem());
  const std::string& leaf = response.cert_chain(0);
  EXPECT_TRUE(crypto::verifyChain(leaf, joined(response.trust_bundle())).ok());
  EXPECT_TRUE(crypto::privateKeyMatches(leaf, *workload_key_.privateKeyPem()).ok());
  auto info = crypto::parseCertificateChain(leaf);
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->front().sans,
            (std::vector<crypto::SubjectAltName>{{crypto::SanType::kUri, kIdentity}}));
  EXPECT_EQ(info->front().not_after - info->front().not_before,
            24h + crypto::CertificateAuthority::kClockSkew);
  EXPECT_EQ(metrics_.countOf(CsrResult::kIssued), 1u);
}

TEST_F(CertificateServiceTest, ACsrWithoutUriGetsTheTokensIdentity) {
  const std::string key_path = dir_ + "/workload.key";
  test::writeFile(key_path, *workload_key_.privateKeyPem());
  auto made = test::runCommand("openssl req -new -key " + key_path +
                               " -subj /CN=admin -addext subjectAltName=DNS:evil.example");
  ASSERT_EQ(made.exit_code, 0) << made.output;
  CertificateResponse response;
  grpc::Status status = call(token("billing", "invoicer"), made.output, 3600, response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  auto info = crypto::parseCertificateChain(response.cert_chain(0));
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->front().uriSans(),
            (std::vector<std::string>{"spiffe://cluster.local/ns/billing/sa/invoicer"}));
  EXPECT_EQ(info->front().sans.size(), 1u);  // the DNS name asked for is not granted
  EXPECT_EQ(info->front().not_after - info->front().not_before,
            1h + crypto::CertificateAuthority::kClockSkew);
}

TEST_F(CertificateServiceTest, CapsTheLifetime) {
  CertificateResponse response;
  ASSERT_TRUE(call(token(), csr(), 30 * 24 * 3600, response).ok());
  auto info = crypto::parseCertificateChain(response.cert_chain(0));
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->front().not_after - info->front().not_before,
            48h + crypto::CertificateAuthority::kClockSkew);
}

TEST_F(CertificateServiceTest, RefusesACsrForAnotherIdentity) {
  CertificateResponse response;
  grpc::Status status = call(token(), csr("spiffe://cluster.local/ns/shop/sa/admin"), 0, response);
  EXPECT_EQ(status.error_code(), StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(status.error_message(),
            "CSR asks for URI SAN \"spiffe://cluster.local/ns/shop/sa/admin\" but the token "
            "proves \"spiffe://cluster.local/ns/shop/sa/cart\"");
  EXPECT_EQ(response.cert_chain_size(), 0);
  EXPECT_EQ(metrics_.countOf(CsrResult::kPermissionDenied), 1u);
}

TEST_F(CertificateServiceTest, RefusesCallersWithoutAValidToken) {
  CertificateResponse response;
  grpc::Status none = call("", csr(), 0, response);
  EXPECT_EQ(none.error_code(), StatusCode::UNAUTHENTICATED);
  EXPECT_THAT(none.error_message(), HasSubstr("authorization: Bearer"));

  const crypto::KeyPair stranger = *crypto::KeyPair::generate(crypto::KeyType::kRsa);
  MintOptions options;
  options.ns = "shop";
  options.service_account = "cart";
  grpc::Status forged =
      call(*mintServiceAccountToken(stranger, options, system_clock::now()), csr(), 0, response);
  EXPECT_EQ(forged.error_code(), StatusCode::UNAUTHENTICATED);
  EXPECT_THAT(forged.error_message(), HasSubstr("token signature does not verify"));

  options.audience = "kubernetes";
  grpc::Status audience =
      call(*mintServiceAccountToken(token_key_, options, system_clock::now()), csr(), 0, response);
  EXPECT_EQ(audience.error_code(), StatusCode::UNAUTHENTICATED);
  EXPECT_THAT(audience.error_message(), HasSubstr("does not include \"istio-ca\""));
  EXPECT_EQ(metrics_.countOf(CsrResult::kUnauthenticated), 3u);
}

TEST_F(CertificateServiceTest, RefusesBadCsrsAndDurations) {
  CertificateResponse response;
  grpc::Status garbage = call(token(), "garbage", 0, response);
  EXPECT_EQ(garbage.error_code(), StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(garbage.error_message(), "CSR PEM: no certificate request found");

  grpc::Status negative = call(token(), csr(), -5, response);
  EXPECT_EQ(negative.error_code(), StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(negative.error_message(), "validity_duration must not be negative, got -5");

  // A CSR whose signed content was altered after signing.
  std::string tampered = csr();
  const size_t body = tampered.find('\n') + 40;
  tampered[body] = tampered[body] == 'A' ? 'B' : 'A';
  grpc::Status altered = call(token(), tampered, 0, response);
  EXPECT_EQ(altered.error_code(), StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(metrics_.countOf(CsrResult::kInvalid), 3u);
}

TEST_F(CertificateServiceTest, ServerCertificateNamesTheHostsAndTheIp) {
  auto info = crypto::parseCertificateChain(listener_->servingCertificatePem());
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->front().sans, (std::vector<crypto::SubjectAltName>{
                                    {crypto::SanType::kDns, "remora-pilot.istio-system.svc"},
                                    {crypto::SanType::kDns, "localhost"},
                                    {crypto::SanType::kIp, "127.0.0.1"}}));
  CertificateResponse response;
  const std::string bundle = roots_->authority().rootsPem();
  EXPECT_TRUE(test::createCertificate(listener_->port(), bundle, token(), csr(), 0, response,
                                      "remora-pilot.istio-system.svc")
                  .ok());
  EXPECT_EQ(test::createCertificate(listener_->port(), bundle, token(), csr(), 0, response,
                                    "other.example")
                .error_code(),
            StatusCode::UNAVAILABLE);
  // A client trusting another root does not get through.
  auto other = crypto::createRootCertificate();
  ASSERT_TRUE(other.ok());
  EXPECT_EQ(test::createCertificate(listener_->port(), other->cert_pem, token(), csr(), 0, response)
                .error_code(),
            StatusCode::UNAVAILABLE);
}

TEST_F(CertificateServiceTest, ServingCertificateFollowsARootRotation) {
  const std::string old_root = roots_->authority().signingRootPem();
  const uint16_t port = listener_->port();
  const auto now = system_clock::now();
  EXPECT_FALSE(*listener_->refresh(now));  // nothing to do yet

  auto next = crypto::createRootCertificate({"remora", "second root"});
  ASSERT_TRUE(next.ok());
  test::writeFile(ca_dir_ + "/ca-cert.pem", next->cert_pem);
  test::writeFile(ca_dir_ + "/ca-key.pem", next->key_pem);
  roots_->poll(now);
  ASSERT_TRUE(roots_->poll(now));
  auto refreshed = listener_->refresh(now);
  ASSERT_TRUE(refreshed.ok()) << refreshed.error();
  EXPECT_TRUE(*refreshed);
  EXPECT_EQ(listener_->port(), port);

  // Proxies trusting only the new root, or the whole bundle, reach the CA; the new leaf
  // chains to the new root, and the response's bundle still holds the old one.
  CertificateResponse response;
  grpc::Status status = test::createCertificate(port, next->cert_pem, token(), csr(), 0, response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_TRUE(crypto::verifyChain(response.cert_chain(0), next->cert_pem).ok());
  EXPECT_FALSE(crypto::verifyChain(response.cert_chain(0), old_root).ok());
  EXPECT_EQ(response.trust_bundle_size(), 2);
  EXPECT_EQ(response.trust_bundle(1), old_root);
  EXPECT_TRUE(
      test::createCertificate(port, roots_->authority().rootsPem(), token(), csr(), 0, response)
          .ok());
  // Half-way through the serving certificate's life it is renewed even without a rotation.
  // (Issued as of that future time, so it is checked here rather than connected to.)
  const std::string serving = listener_->servingCertificatePem();
  EXPECT_FALSE(*listener_->refresh(now + 11h));
  EXPECT_TRUE(*listener_->refresh(now + 12h));
  EXPECT_NE(listener_->servingCertificatePem(), serving);
  EXPECT_TRUE(
      crypto::verifyChain(listener_->servingCertificatePem(), next->cert_pem, now + 12h).ok());
}

TEST_F(CertificateServiceTest, MetricsAreValidPrometheusText) {
  CertificateResponse response;
  ASSERT_TRUE(call(token(), csr(), 0, response).ok());
  EXPECT_EQ(call("", csr(), 0, response).error_code(), StatusCode::UNAUTHENTICATED);
  const std::string text = metrics_.render(roots_->authority(), system_clock::now());
  EXPECT_THAT(text, HasSubstr("pilot_ca_csr_total{result=\"issued\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("pilot_ca_csr_total{result=\"unauthenticated\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("pilot_ca_csr_total{result=\"permission_denied\"} 0\n"));
  EXPECT_THAT(text, HasSubstr("pilot_ca_root_cert_expiry_seconds{serial=\""));
  EXPECT_THAT(text, HasSubstr("\",signing=\"true\"} 31561"));  // ten years, less a few seconds
  const std::string path = dir_ + "/metrics.txt";
  test::writeFile(path, text);
  auto checked = test::runCommand("promtool check metrics < " + path);
  EXPECT_EQ(checked.exit_code, 0) << checked.output << text;
  EXPECT_EQ(checked.output, "") << text;
}

}  // namespace
}  // namespace remora::pilot::ca
