#include "source/common/crypto/root_certificate.h"

#include <openssl/x509v3.h>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "source/common/crypto/certificate_info.h"
#include "source/common/crypto/key_pair.h"
#include "source/common/crypto/openssl_util.h"
#include "test/common/crypto/test_util.h"

namespace remora::crypto {
namespace {

using ::testing::HasSubstr;
using namespace std::chrono_literals;

bool isCritical(X509* cert, int nid) {
  const int index = X509_get_ext_by_NID(cert, nid, -1);
  return index >= 0 && X509_EXTENSION_get_critical(X509_get_ext(cert, index)) == 1;
}

TEST(CreateRootCertificateTest, SelfSignedCaWithRequiredExtensions) {
  const auto now =
      std::chrono::time_point_cast<std::chrono::seconds>(std::chrono::system_clock::now());
  auto root = createRootCertificate({"Acme", "Acme mesh root", 24h * 3650}, now);
  ASSERT_TRUE(root.ok()) << root.error();

  X509Ptr cert = test::parseCert(root->cert_pem);
  ASSERT_TRUE(cert);
  EXPECT_EQ(X509_get_version(cert.get()), X509_VERSION_3);
  EXPECT_EQ(nameToString(X509_get_subject_name(cert.get())), "CN=Acme mesh root,O=Acme");
  EXPECT_EQ(X509_NAME_cmp(X509_get_subject_name(cert.get()), X509_get_issuer_name(cert.get())), 0);
  EXPECT_EQ(*asn1TimeToTimePoint(X509_get0_notBefore(cert.get())), now - 60s);
  EXPECT_EQ(*asn1TimeToTimePoint(X509_get0_notAfter(cert.get())), now + 24h * 3650);

  const uint32_t flags = X509_get_extension_flags(cert.get());
  EXPECT_NE(flags & EXFLAG_CA, 0u);
  EXPECT_TRUE(isCritical(cert.get(), NID_basic_constraints));
  EXPECT_TRUE(isCritical(cert.get(), NID_key_usage));
  EXPECT_EQ(X509_get_key_usage(cert.get()), static_cast<uint32_t>(KU_KEY_CERT_SIGN | KU_CRL_SIGN));
  EXPECT_NE(X509_get0_subject_key_id(cert.get()), nullptr);
  EXPECT_EQ(X509_get_signature_nid(cert.get()), NID_ecdsa_with_SHA256);

  auto key = KeyPair::fromPem(root->key_pem);
  ASSERT_TRUE(key.ok()) << key.error();
  EXPECT_EQ(key->type(), KeyType::kEcdsaP256);
  EXPECT_TRUE(checkSigningRoot(cert.get(), key->get(), std::chrono::system_clock::now()).ok());
  EXPECT_TRUE(verifyChain(root->cert_pem, root->cert_pem).ok());
}

TEST(CreateRootCertificateTest, OpenSslToolAcceptsRootStrictly) {
  auto root = createRootCertificate();
  ASSERT_TRUE(root.ok()) << root.error();
  const std::string path = test::writeTempFile("root.pem", root->cert_pem);
  const auto result =
      test::runCommand("/usr/bin/openssl verify -x509_strict -CAfile " + path + " " + path);
  EXPECT_EQ(result.exit_code, 0) << result.output;
  EXPECT_THAT(result.output, HasSubstr(": OK"));
}

TEST(CreateRootCertificateTest, DefaultsAndOptionalOrganization) {
  auto root = createRootCertificate();
  ASSERT_TRUE(root.ok()) << root.error();
  auto info = parseCertificateChain(root->cert_pem);
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->front().subject, "CN=remora root CA,O=remora");
  EXPECT_NEAR(info->front().secondsUntilExpiry(std::chrono::system_clock::now()),
              std::chrono::seconds(24h * 3653).count(), 120);

  auto no_org = createRootCertificate({"", "just cn", 1h});
  ASSERT_TRUE(no_org.ok()) << no_org.error();
  EXPECT_EQ(parseCertificateChain(no_org->cert_pem)->front().subject, "CN=just cn");
}

TEST(CreateRootCertificateTest, RejectsBadOptions) {
  EXPECT_EQ(createRootCertificate({"o", "", 1h}).error(), "root common name is empty");
  EXPECT_EQ(createRootCertificate({"o", "cn", 0s}).error(), "root validity must be positive");
  EXPECT_EQ(createRootCertificate({"o", "cn", -5s}).error(), "root validity must be positive");
  EXPECT_THAT(createRootCertificate({"o", std::string(65, 'x'), 1h}).error(),
              HasSubstr("root subject CN"));
}

TEST(CheckSigningRootTest, RejectsMismatchedKeyExpiredAndNonCa) {
  auto root = createRootCertificate();
  ASSERT_TRUE(root.ok());
  X509Ptr cert = test::parseCert(root->cert_pem);
  auto other_key = KeyPair::generate();
  ASSERT_TRUE(cert && other_key.ok());
  const auto now = std::chrono::system_clock::now();
  EXPECT_EQ(checkSigningRoot(cert.get(), other_key->get(), now).error(),
            "private key does not match certificate");

  auto key = KeyPair::fromPem(root->key_pem);
  ASSERT_TRUE(key.ok());
  EXPECT_THAT(checkSigningRoot(cert.get(), key->get(), now + 24h * 4000).error(),
              HasSubstr("root certificate expired at "));

  // A self-signed certificate without CA:TRUE.
  auto leaf_key = KeyPair::generate();
  ASSERT_TRUE(leaf_key.ok());
  X509Ptr plain(X509_new());
  X509_set_version(plain.get(), X509_VERSION_3);
  X509_set_pubkey(plain.get(), leaf_key->get());
  ASSERT_TRUE(setAsn1Time(X509_getm_notBefore(plain.get()), now).ok());
  ASSERT_TRUE(setAsn1Time(X509_getm_notAfter(plain.get()), now + 1h).ok());
  ASSERT_GT(X509_sign(plain.get(), leaf_key->get(), EVP_sha256()), 0);
  EXPECT_EQ(checkSigningRoot(plain.get(), leaf_key->get(), now).error(),
            "root certificate is not a CA (no basicConstraints CA:TRUE)");
}

}  // namespace
}  // namespace remora::crypto
