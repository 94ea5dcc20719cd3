#include "source/common/crypto/csr.h"

#include <openssl/pem.h>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "test/common/crypto/test_util.h"

namespace remora::crypto {
namespace {

using ::testing::ContainsRegex;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;
using ::testing::StartsWith;

constexpr char kSpiffeId[] = "spiffe://cluster.local/ns/default/sa/productpage";

class CsrRoundTripTest : public ::testing::TestWithParam<KeyType> {};

TEST_P(CsrRoundTripTest, CarriesSanAndVerifies) {
  auto key = KeyPair::generate(GetParam());
  ASSERT_TRUE(key.ok()) << key.error();
  auto pem = createCsr(*key, kSpiffeId);
  ASSERT_TRUE(pem.ok()) << pem.error();
  EXPECT_THAT(*pem, StartsWith("-----BEGIN CERTIFICATE REQUEST-----\n"));

  auto csr = parseCsr(*pem);
  ASSERT_TRUE(csr.ok()) << csr.error();
  EXPECT_TRUE(csr->signatureVerifies());
  EXPECT_THAT(csr->uriSans(), ElementsAre(kSpiffeId));
  EXPECT_THAT(csr->dnsSans(), IsEmpty());
  EXPECT_EQ(csr->sans().size(), 1u);
  EXPECT_EQ(csr->subject(), "O=remora");
  EXPECT_EQ(EVP_PKEY_eq(csr->publicKey(), key->get()), 1);
  EXPECT_EQ(*csr->publicKeyPem(), *key->publicKeyPem());
}

TEST_P(CsrRoundTripTest, OpenSslToolVerifiesCsr) {
  auto key = KeyPair::generate(GetParam());
  ASSERT_TRUE(key.ok()) << key.error();
  auto pem = createCsr(*key, kSpiffeId);
  ASSERT_TRUE(pem.ok()) << pem.error();
  const std::string path = test::writeTempFile("csr.pem", *pem);
  auto result = test::runCommand("/usr/bin/openssl req -verify -noout -in " + path);
  EXPECT_EQ(result.exit_code, 0) << result.output;
  EXPECT_THAT(result.output, HasSubstr("verify OK"));

  result = test::runCommand("/usr/bin/openssl req -noout -text -in " + path);
  EXPECT_EQ(result.exit_code, 0) << result.output;
  EXPECT_THAT(result.output, HasSubstr("URI:spiffe://cluster.local/ns/default/sa/productpage"));
  EXPECT_THAT(result.output,
              ContainsRegex("Signature Algorithm: (ecdsa-with-SHA256|sha256WithRSAEncryption)"));
}

INSTANTIATE_TEST_SUITE_P(Types, CsrRoundTripTest,
                         ::testing::Values(KeyType::kEcdsaP256, KeyType::kRsa));

TEST(CsrTest, TamperedCsrDoesNotVerify) {
  auto key = KeyPair::generate();
  ASSERT_TRUE(key.ok());
  auto pem = createCsr(*key, kSpiffeId);
  ASSERT_TRUE(pem.ok());

  // Change the requested identity inside the signed bytes: still a well-formed CSR, but the
  // signature no longer covers what it says.
  std::string der = test::pemToDer(*pem);
  const size_t at = der.find("productpage");
  ASSERT_NE(at, std::string::npos);
  der[at] = 'P';
  const std::string tampered = test::derToPem(der, "CERTIFICATE REQUEST");

  auto csr = parseCsr(tampered);
  ASSERT_TRUE(csr.ok()) << csr.error();
  EXPECT_FALSE(csr->signatureVerifies());
  EXPECT_THAT(csr->uriSans(), ElementsAre("spiffe://cluster.local/ns/default/sa/Productpage"));

  const std::string path = test::writeTempFile("tampered.pem", tampered);
  const auto result = test::runCommand("/usr/bin/openssl req -verify -noout -in " + path);
  // OpenSSL 3.0's `req -verify` reports the failure but still exits 0.
  EXPECT_THAT(result.output, HasSubstr("verify failure"));
  EXPECT_THAT(result.output, Not(HasSubstr("verify OK")));
}

TEST(CsrTest, TamperedSignatureDoesNotVerify) {
  auto key = KeyPair::generate(KeyType::kRsa);
  ASSERT_TRUE(key.ok());
  auto pem = createCsr(*key, kSpiffeId);
  ASSERT_TRUE(pem.ok());
  // The RSA signature is the last 256 bytes of the DER; flip a bit in it.
  std::string der = test::pemToDer(*pem);
  der[der.size() - 10] = static_cast<char>(der[der.size() - 10] ^ 0x01);
  auto csr = parseCsr(test::derToPem(der, "CERTIFICATE REQUEST"));
  ASSERT_TRUE(csr.ok()) << csr.error();
  EXPECT_FALSE(csr->signatureVerifies());
}

TEST(CsrTest, ReadsCsrFromOpenSslTool) {
  auto key = KeyPair::generate();
  ASSERT_TRUE(key.ok());
  const std::string key_path = test::writeTempFile("key.pem", *key->privateKeyPem());
  const std::string csr_path = test::writeTempFile("tool_csr.pem", "");
  const auto result = test::runCommand(
      "/usr/bin/openssl req -new -key " + key_path + " -subj /CN=workload -addext " +
      "'subjectAltName=URI:spiffe://td/ns/a/sa/b,DNS:b.a.svc,DNS:b,IP:10.0.0.1' -out " + csr_path);
  ASSERT_EQ(result.exit_code, 0) << result.output;
  auto csr = parseCsr(test::readFile(csr_path));
  ASSERT_TRUE(csr.ok()) << csr.error();
  EXPECT_TRUE(csr->signatureVerifies());
  EXPECT_EQ(csr->subject(), "CN=workload");
  EXPECT_THAT(csr->uriSans(), ElementsAre("spiffe://td/ns/a/sa/b"));
  EXPECT_THAT(csr->dnsSans(), ElementsAre("b.a.svc", "b"));
  EXPECT_EQ(csr->sans().size(), 4u);
}

TEST(CsrTest, CsrWithoutExtensionsHasNoSans) {
  auto key = KeyPair::generate();
  ASSERT_TRUE(key.ok());
  X509ReqPtr request(X509_REQ_new());
  ASSERT_EQ(X509_REQ_set_pubkey(request.get(), key->get()), 1);
  ASSERT_GT(X509_REQ_sign(request.get(), key->get(), EVP_sha256()), 0);
  BioPtr bio(BIO_new(BIO_s_mem()));
  ASSERT_EQ(PEM_write_bio_X509_REQ(bio.get(), request.get()), 1);
  char* data = nullptr;
  const long length = BIO_get_mem_data(bio.get(), &data);
  auto csr = parseCsr(std::string(data, static_cast<size_t>(length)));
  ASSERT_TRUE(csr.ok()) << csr.error();
  EXPECT_TRUE(csr->signatureVerifies());
  EXPECT_THAT(csr->sans(), IsEmpty());
  EXPECT_EQ(csr->subject(), "");
}

TEST(CsrTest, RejectsGarbageAndTruncatedPem) {
  EXPECT_EQ(parseCsr("").error(), "CSR PEM: no certificate request found");
  EXPECT_EQ(parseCsr("hello world").error(), "CSR PEM: no certificate request found");

  auto key = KeyPair::generate();
  ASSERT_TRUE(key.ok());
  auto pem = createCsr(*key, kSpiffeId);
  ASSERT_TRUE(pem.ok());
  // Cut in the middle (no END line), and cut just before the END line (DER too short).
  const auto half = parseCsr(pem->substr(0, pem->size() / 2));
  EXPECT_THAT(half.error(), StartsWith("CSR PEM: malformed certificate request"));
  const size_t end = pem->find("-----END");
  const std::string short_body =
      pem->substr(0, end - 30) + "\n" + pem->substr(end);  // drop the last base64 line's tail
  EXPECT_THAT(parseCsr(short_body).error(), StartsWith("CSR PEM: malformed certificate request"));
  // Base64 of something that is not a CSR.
  EXPECT_THAT(parseCsr("-----BEGIN CERTIFICATE REQUEST-----\naGVsbG8=\n"
                       "-----END CERTIFICATE REQUEST-----\n")
                  .error(),
              StartsWith("CSR PEM: malformed certificate request"));
}

TEST(CsrTest, RefusesInvalidSpiffeId) {
  auto key = KeyPair::generate();
  ASSERT_TRUE(key.ok());
  auto pem = createCsr(*key, "spiffe://td/ns/../sa/b");
  ASSERT_FALSE(pem.ok());
  EXPECT_THAT(pem.error(), StartsWith("cannot create CSR: SPIFFE ID"));
  EXPECT_FALSE(createCsr(*key, "").ok());
}

}  // namespace
}  // namespace remora::crypto
