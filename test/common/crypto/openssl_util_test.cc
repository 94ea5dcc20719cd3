#include "source/common/crypto/openssl_util.h"

#include <openssl/err.h>
#include <openssl/pem.h>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "source/common/crypto/certificate_authority.h"
#include "source/common/crypto/root_certificate.h"

namespace remora::crypto {
namespace {

using ::testing::HasSubstr;
using namespace std::chrono_literals;

RootCertificatePem makeRoot() {
  auto root = createRootCertificate();
  EXPECT_TRUE(root.ok()) << root.error();
  return *root;
}

TEST(OpenSslErrorScopeTest, DiscardsOnlyErrorsRaisedInside) {
  ERR_clear_error();
  ERR_raise(ERR_LIB_PEM, PEM_R_BAD_END_LINE);  // an error that predates the scope
  {
    OpenSslErrorScope scope;
    ERR_raise(ERR_LIB_PEM, PEM_R_NO_START_LINE);
    EXPECT_TRUE(lastErrorIsPemNoStartLine());
    EXPECT_THAT(withOpenSslReason("reading"), HasSubstr("reading: no start line"));
  }
  EXPECT_EQ(ERR_GET_REASON(ERR_peek_last_error()), PEM_R_BAD_END_LINE);
  ERR_clear_error();
}

TEST(OpenSslErrorScopeTest, FailedParsesLeaveTheQueueClean) {
  ERR_clear_error();
  EXPECT_FALSE(readCertificatesPem("garbage", "x").ok());
  EXPECT_FALSE(readCertificatesPem("-----BEGIN CERTIFICATE-----\nAAAA\n", "x").ok());
  EXPECT_EQ(ERR_peek_error(), 0u);
}

TEST(WithOpenSslReasonTest, NoQueuedErrorLeavesMessageAlone) {
  ERR_clear_error();
  EXPECT_EQ(withOpenSslReason("plain"), "plain");
}

TEST(ReadCertificatesPemTest, ReadsEveryCertificateInOrder) {
  const RootCertificatePem first = makeRoot();
  const RootCertificatePem second = makeRoot();
  auto certs = readCertificatesPem(
      "leading text\n" + first.cert_pem + "between\n" + second.cert_pem + "trailing\n", "bundle");
  ASSERT_TRUE(certs.ok()) << certs.error();
  ASSERT_EQ(certs->size(), 2u);
  EXPECT_EQ(*certificateToPem((*certs)[0].get()), first.cert_pem);
  EXPECT_EQ(*certificateToPem((*certs)[1].get()), second.cert_pem);
}

TEST(ReadCertificatesPemTest, RejectsEmptyGarbageAndTruncated) {
  EXPECT_EQ(readCertificatesPem("", "bundle").error(), "bundle: no certificate found");
  EXPECT_EQ(readCertificatesPem("hello", "bundle").error(), "bundle: no certificate found");

  const std::string pem = makeRoot().cert_pem;
  const auto truncated = readCertificatesPem(pem.substr(0, pem.size() / 2), "bundle");
  EXPECT_FALSE(truncated.ok());
  EXPECT_THAT(truncated.error(), HasSubstr("bundle: malformed certificate #1"));

  // A good certificate followed by a truncated one is an error, not a silent drop.
  const auto second_truncated = readCertificatesPem(pem + pem.substr(0, 200), "bundle");
  EXPECT_THAT(second_truncated.error(), HasSubstr("malformed certificate #2"));

  // Valid base64 that is not a certificate.
  const auto not_der = readCertificatesPem(
      "-----BEGIN CERTIFICATE-----\naGVsbG8gd29ybGQ=\n-----END CERTIFICATE-----\n", "bundle");
  EXPECT_THAT(not_der.error(), HasSubstr("bundle: malformed certificate #1"));
}

TEST(ReadOneCertificatePemTest, RequiresExactlyOne) {
  const std::string pem = makeRoot().cert_pem;
  EXPECT_TRUE(readOneCertificatePem(pem, "root").ok());
  EXPECT_EQ(readOneCertificatePem(pem + pem, "root").error(),
            "root: expected one certificate, found 2");
}

TEST(CertificateDerTest, EqualForSameCertificate) {
  const std::string pem = makeRoot().cert_pem;
  auto a = readOneCertificatePem(pem, "a");
  auto b = readOneCertificatePem(pem, "b");
  auto other = readOneCertificatePem(makeRoot().cert_pem, "c");
  ASSERT_TRUE(a.ok() && b.ok() && other.ok());
  EXPECT_FALSE(certificateDer(a->get()).empty());
  EXPECT_EQ(certificateDer(a->get()), certificateDer(b->get()));
  EXPECT_NE(certificateDer(a->get()), certificateDer(other->get()));
}

TEST(Asn1TimeTest, RoundTripsUtcAndGeneralizedTime) {
  Asn1TimePtr time(ASN1_TIME_new());
  ASSERT_TRUE(time);
  using namespace std::chrono;
  for (const sys_days day : {sys_days{2024y / February / 29}, sys_days{2049y / December / 31},
                             sys_days{2050y / January / 1}, sys_days{1970y / January / 1}}) {
    const system_clock::time_point when = day + 13h + 14min + 15s;
    ASSERT_TRUE(setAsn1Time(time.get(), when).ok());
    auto back = asn1TimeToTimePoint(time.get());
    ASSERT_TRUE(back.ok()) << back.error();
    EXPECT_EQ(*back, when) << formatTime(when);
  }
  // RFC 5280: UTCTime through 2049, GeneralizedTime from 2050.
  ASSERT_TRUE(setAsn1Time(time.get(), sys_days{2049y / December / 31}).ok());
  EXPECT_EQ(ASN1_STRING_type(time.get()), V_ASN1_UTCTIME);
  ASSERT_TRUE(setAsn1Time(time.get(), sys_days{2050y / January / 1}).ok());
  EXPECT_EQ(ASN1_STRING_type(time.get()), V_ASN1_GENERALIZEDTIME);
}

TEST(Asn1TimeTest, RejectsMissingAndMalformed) {
  EXPECT_FALSE(asn1TimeToTimePoint(nullptr).ok());
  Asn1TimePtr time(ASN1_TIME_new());
  ASSERT_TRUE(time);
  const char kBad[] = "not a time";
  ASSERT_EQ(ASN1_STRING_set(time.get(), kBad, sizeof(kBad) - 1), 1);
  EXPECT_THAT(asn1TimeToTimePoint(time.get()).error(), HasSubstr("malformed ASN.1 time"));
}

TEST(FormatTimeTest, Iso8601Utc) {
  using namespace std::chrono;
  EXPECT_EQ(formatTime(sys_days{2031y / March / 4} + 5h + 6min + 7s + 800ms),
            "2031-03-04T05:06:07Z");
  EXPECT_EQ(formatTime(system_clock::time_point{}), "1970-01-01T00:00:00Z");
}

TEST(NameToStringTest, Rfc2253) {
  X509NamePtr name(X509_NAME_new());
  ASSERT_TRUE(name);
  EXPECT_EQ(nameToString(name.get()), "");
  X509_NAME_add_entry_by_txt(name.get(), "O", MBSTRING_UTF8,
                             reinterpret_cast<const unsigned char*>("remora"), -1, -1, 0);
  X509_NAME_add_entry_by_txt(name.get(), "CN", MBSTRING_UTF8,
                             reinterpret_cast<const unsigned char*>("root, \xc3\xa9"), -1, -1, 0);
  EXPECT_EQ(nameToString(name.get()), "CN=root\\, \xc3\xa9,O=remora");
}

TEST(BioTest, RoundTrip) {
  auto in = readOnlyBio("hello");
  ASSERT_TRUE(in.ok());
  char buffer[16] = {};
  EXPECT_EQ(BIO_read(in->get(), buffer, sizeof(buffer)), 5);
  EXPECT_STREQ(buffer, "hello");

  auto out = writableBio();
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(bioContents(out->get()), "");
  BIO_write(out->get(), "abc", 3);
  EXPECT_EQ(bioContents(out->get()), "abc");
}

}  // namespace
}  // namespace remora::crypto
