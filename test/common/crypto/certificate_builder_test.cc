#include "source/common/crypto/certificate_builder.h"

#include <set>

#include <openssl/x509v3.h>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "source/common/crypto/key_pair.h"
#include "source/common/crypto/openssl_util.h"

namespace remora::crypto {
namespace {

using ::testing::HasSubstr;
using namespace std::chrono_literals;

TEST(NewCertificateTest, V3WithRandomPositiveSerial) {
  std::set<std::string> serials;
  for (int i = 0; i < 32; ++i) {
    auto cert = newCertificate();
    ASSERT_TRUE(cert.ok()) << cert.error();
    EXPECT_EQ(X509_get_version(cert->get()), X509_VERSION_3);
    BignumPtr serial(ASN1_INTEGER_to_BN(X509_get0_serialNumber(cert->get()), nullptr));
    ASSERT_TRUE(serial);
    EXPECT_FALSE(BN_is_negative(serial.get()));
    EXPECT_FALSE(BN_is_zero(serial.get()));
    EXPECT_LE(BN_num_bits(serial.get()), kSerialBits);
    char* hex = BN_bn2hex(serial.get());
    serials.insert(hex);
    OPENSSL_free(hex);
  }
  EXPECT_EQ(serials.size(), 32u);
}

TEST(SetValidityTest, SetsBothAndRejectsEmptyWindow) {
  auto cert = newCertificate();
  ASSERT_TRUE(cert.ok());
  const auto start =
      std::chrono::time_point_cast<std::chrono::seconds>(std::chrono::system_clock::now());
  ASSERT_TRUE(setValidity(cert->get(), start, start + 1h).ok());
  EXPECT_EQ(*asn1TimeToTimePoint(X509_get0_notBefore(cert->get())), start);
  EXPECT_EQ(*asn1TimeToTimePoint(X509_get0_notAfter(cert->get())), start + 1h);
  EXPECT_THAT(setValidity(cert->get(), start, start).error(), HasSubstr("validity is empty"));
  EXPECT_FALSE(setValidity(cert->get(), start, start - 1s).ok());
}

TEST(AddConfigExtensionTest, AddsExtensionsAndNamesFailures) {
  auto key = KeyPair::generate();
  auto cert = newCertificate();
  ASSERT_TRUE(key.ok() && cert.ok());
  ASSERT_EQ(X509_set_pubkey(cert->get(), key->get()), 1);
  X509* x509 = cert->get();
  ASSERT_TRUE(addConfigExtension(x509, x509, NID_basic_constraints, "critical,CA:TRUE").ok());
  ASSERT_TRUE(addConfigExtension(x509, x509, NID_subject_key_identifier, "hash").ok());
  const int index = X509_get_ext_by_NID(x509, NID_basic_constraints, -1);
  ASSERT_GE(index, 0);
  EXPECT_EQ(X509_EXTENSION_get_critical(X509_get_ext(x509, index)), 1);
  EXPECT_GE(X509_get_ext_by_NID(x509, NID_subject_key_identifier, -1), 0);

  const Status bad = addConfigExtension(x509, x509, NID_key_usage, "notAUsage");
  ASSERT_FALSE(bad.ok());
  EXPECT_THAT(bad.error(), HasSubstr("cannot build keyUsage extension"));
}

TEST(SignCertificateTest, SignsWithSha256) {
  auto key = KeyPair::generate();
  auto cert = newCertificate();
  ASSERT_TRUE(key.ok() && cert.ok());
  ASSERT_EQ(X509_set_pubkey(cert->get(), key->get()), 1);
  const auto now = std::chrono::system_clock::now();
  ASSERT_TRUE(setValidity(cert->get(), now, now + 1h).ok());
  ASSERT_TRUE(signCertificate(cert->get(), key->get()).ok());
  EXPECT_EQ(X509_get_signature_nid(cert->get()), NID_ecdsa_with_SHA256);
  EXPECT_EQ(X509_verify(cert->get(), key->get()), 1);
}

}  // namespace
}  // namespace remora::crypto
