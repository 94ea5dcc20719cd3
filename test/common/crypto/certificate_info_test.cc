#include "source/common/crypto/certificate_info.h"

#include <openssl/x509v3.h>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "source/common/crypto/certificate_authority.h"
#include "source/common/crypto/certificate_builder.h"
#include "source/common/crypto/csr.h"
#include "source/common/crypto/key_pair.h"
#include "source/common/crypto/openssl_util.h"
#include "test/common/crypto/test_util.h"

namespace remora::crypto {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::StartsWith;
using namespace std::chrono_literals;

using Clock = std::chrono::system_clock;

Clock::time_point nowSeconds() {
  return std::chrono::time_point_cast<std::chrono::seconds>(Clock::now());
}

// A certificate for `key` issued by `issuer` (signed with `issuer_key`), or self-signed when
// `issuer` is null, with the given extensions in OpenSSL config syntax.
std::string makeCert(const KeyPair& key, X509* issuer, const KeyPair* issuer_key,
                     const std::string& cn, Clock::time_point not_before,
                     Clock::time_point not_after,
                     const std::vector<std::pair<int, std::string>>& extensions) {
  auto cert = newCertificate();
  EXPECT_TRUE(cert.ok());
  X509* x509 = cert->get();
  X509NamePtr name(X509_NAME_new());
  if (!cn.empty()) {
    X509_NAME_add_entry_by_txt(name.get(), "CN", MBSTRING_UTF8,
                               reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1, 0);
  }
  X509_set_subject_name(x509, name.get());
  X509_set_issuer_name(x509, issuer != nullptr ? X509_get_subject_name(issuer) : name.get());
  X509_set_pubkey(x509, key.get());
  EXPECT_TRUE(setValidity(x509, not_before, not_after).ok());
  for (const auto& [nid, value] : extensions) {
    const Status status =
        addConfigExtension(x509, issuer != nullptr ? issuer : x509, nid, value.c_str());
    EXPECT_TRUE(status.ok()) << status.error();
  }
  EXPECT_TRUE(signCertificate(x509, (issuer_key != nullptr ? *issuer_key : key).get()).ok());
  return *certificateToPem(x509);
}

struct ThreeLevelChain {
  std::string root;
  std::string intermediate;
  std::string leaf;
  std::string leaf_key;
};

ThreeLevelChain makeThreeLevelChain() {
  const auto now = nowSeconds();
  KeyPair root_key = *KeyPair::generate();
  KeyPair intermediate_key = *KeyPair::generate();
  KeyPair leaf_key = *KeyPair::generate();
  ThreeLevelChain chain;
  chain.root = makeCert(root_key, nullptr, nullptr, "root", now - 3h, now + 48h,
                        {{NID_basic_constraints, "critical,CA:TRUE"},
                         {NID_key_usage, "critical,keyCertSign"},
                         {NID_subject_key_identifier, "hash"}});
  X509Ptr root = test::parseCert(chain.root);
  chain.intermediate =
      makeCert(intermediate_key, root.get(), &root_key, "intermediate", now - 3h, now + 24h,
               {{NID_basic_constraints, "critical,CA:TRUE,pathlen:0"},
                {NID_key_usage, "critical,keyCertSign"},
                {NID_subject_key_identifier, "hash"},
                {NID_authority_key_identifier, "keyid:always"}});
  X509Ptr intermediate = test::parseCert(chain.intermediate);
  chain.leaf = makeCert(leaf_key, intermediate.get(), &intermediate_key, "", now - 1h, now + 1h,
                        {{NID_basic_constraints, "critical,CA:FALSE"},
                         {NID_subject_alt_name,
                          "critical,URI:spiffe://td/ns/a/sa/b,DNS:b.a.svc,IP:10.0.0.7,"
                          "IP:fd00::7,email:b@a.example"}});
  chain.leaf_key = *leaf_key.privateKeyPem();
  return chain;
}

TEST(ParseCertificateChainTest, ReadsEverythingAnAdminPageShows) {
  const ThreeLevelChain chain = makeThreeLevelChain();
  auto infos = parseCertificateChain(chain.leaf + chain.intermediate + chain.root);
  ASSERT_TRUE(infos.ok()) << infos.error();
  ASSERT_EQ(infos->size(), 3u);

  const CertificateInfo& leaf = (*infos)[0];
  EXPECT_EQ(leaf.subject, "");
  EXPECT_EQ(leaf.issuer, "CN=intermediate");
  EXPECT_FALSE(leaf.is_ca);
  EXPECT_EQ(leaf.sans, (std::vector<SubjectAltName>{
                           {SanType::kUri, "spiffe://td/ns/a/sa/b"},
                           {SanType::kDns, "b.a.svc"},
                           {SanType::kIp, "10.0.0.7"},
                           {SanType::kIp, "fd00::7"},
                           {SanType::kEmail, "b@a.example"},
                       }));
  EXPECT_THAT(leaf.uriSans(), ElementsAre("spiffe://td/ns/a/sa/b"));

  const CertificateInfo& intermediate = (*infos)[1];
  EXPECT_EQ(intermediate.subject, "CN=intermediate");
  EXPECT_EQ(intermediate.issuer, "CN=root");
  EXPECT_TRUE(intermediate.is_ca);
  EXPECT_TRUE(intermediate.sans.empty());

  const CertificateInfo& root = (*infos)[2];
  EXPECT_EQ(root.subject, "CN=root");
  EXPECT_EQ(root.issuer, "CN=root");
  EXPECT_TRUE(root.is_ca);
}

TEST(ParseCertificateChainTest, ValidityAndExpiry) {
  const auto now = nowSeconds();
  KeyPair key = *KeyPair::generate();
  const std::string pem = makeCert(key, nullptr, nullptr, "x", now - 10min, now + 90min, {});
  auto infos = parseCertificateChain(pem);
  ASSERT_TRUE(infos.ok()) << infos.error();
  const CertificateInfo& info = infos->front();
  EXPECT_EQ(info.not_before, now - 10min);
  EXPECT_EQ(info.not_after, now + 90min);
  EXPECT_EQ(info.secondsUntilExpiry(now), 90 * 60);
  EXPECT_EQ(info.secondsUntilExpiry(now + 2h), -30 * 60);
  EXPECT_FALSE(info.is_ca);  // no basicConstraints at all
}

TEST(ParseCertificateChainTest, SerialIsUppercaseHexOfTheCertificateSerial) {
  auto ca = CertificateAuthority::create();
  ASSERT_TRUE(ca.ok());
  auto infos = parseCertificateChain((*ca)->signingRootPem());
  ASSERT_TRUE(infos.ok());
  X509Ptr cert = test::parseCert((*ca)->signingRootPem());
  BignumPtr serial(ASN1_INTEGER_to_BN(X509_get0_serialNumber(cert.get()), nullptr));
  char* hex = BN_bn2hex(serial.get());
  EXPECT_EQ(infos->front().serial_hex, hex);
  OPENSSL_free(hex);
  EXPECT_LE(infos->front().serial_hex.size(), 32u);
  EXPECT_EQ(infos->front().serial_hex.find_first_not_of("0123456789ABCDEF"), std::string::npos);

  // The openssl tool prints the same serial.
  const std::string path = test::writeTempFile("root.pem", (*ca)->signingRootPem());
  const auto result = test::runCommand("/usr/bin/openssl x509 -noout -serial -in " + path);
  ASSERT_EQ(result.exit_code, 0) << result.output;
  // The tool keeps a leading zero nibble where BN_bn2hex may not; compare numerically.
  const std::string tool_hex = result.output.substr(result.output.find('=') + 1);
  BIGNUM* parsed = nullptr;
  ASSERT_GT(BN_hex2bn(&parsed, tool_hex.c_str()), 0);
  BignumPtr tool_serial(parsed);
  EXPECT_EQ(BN_cmp(tool_serial.get(), serial.get()), 0);
}

TEST(ParseCertificateChainTest, RejectsBadPem) {
  EXPECT_EQ(parseCertificateChain("").error(), "certificate PEM: no certificate found");
  EXPECT_EQ(parseCertificateChain("junk").error(), "certificate PEM: no certificate found");
  const ThreeLevelChain chain = makeThreeLevelChain();
  EXPECT_THAT(parseCertificateChain(chain.leaf.substr(0, 100)).error(),
              StartsWith("certificate PEM: malformed certificate #1"));
}

TEST(VerifyChainTest, UsesIntermediatesFromTheFirstArgument) {
  const ThreeLevelChain chain = makeThreeLevelChain();
  EXPECT_TRUE(verifyChain(chain.leaf + chain.intermediate, chain.root).ok());
  EXPECT_EQ(verifyChain(chain.leaf, chain.root).error(),
            "certificate verification failed at depth 0: unable to get local issuer certificate");
  // Trusting an unrelated root as well changes nothing.
  auto other = createRootCertificate();
  ASSERT_TRUE(other.ok());
  EXPECT_TRUE(verifyChain(chain.leaf + chain.intermediate, other->cert_pem + chain.root).ok());
  EXPECT_EQ(verifyChain(chain.leaf + chain.intermediate, other->cert_pem).error(),
            "certificate verification failed at depth 1: unable to get local issuer certificate");
}

TEST(VerifyChainTest, ChecksTimeAtGivenInstant) {
  const ThreeLevelChain chain = makeThreeLevelChain();
  const auto now = Clock::now();
  EXPECT_EQ(verifyChain(chain.leaf + chain.intermediate, chain.root, now + 2h).error(),
            "certificate verification failed at depth 0: certificate has expired");
  EXPECT_EQ(verifyChain(chain.leaf + chain.intermediate, chain.root, now - 2h).error(),
            "certificate verification failed at depth 0: certificate is not yet valid");
}

TEST(VerifyChainTest, RejectsUnparsableInput) {
  const ThreeLevelChain chain = makeThreeLevelChain();
  EXPECT_EQ(verifyChain("", chain.root).error(), "certificate chain PEM: no certificate found");
  EXPECT_EQ(verifyChain(chain.leaf, "").error(), "trusted roots PEM: no certificate found");
}

TEST(VerifyChainTest, RejectsForgedSignature) {
  auto ca = CertificateAuthority::create();
  ASSERT_TRUE(ca.ok());
  auto key = KeyPair::generate();
  ASSERT_TRUE(key.ok());
  auto leaf = (*ca)->sign(*createCsr(*key, "spiffe://td/ns/a/sa/b"), "spiffe://td/ns/a/sa/b", 1h);
  ASSERT_TRUE(leaf.ok());
  // Rewrite the identity inside the signed part of the certificate.
  std::string der = test::pemToDer(*leaf);
  const size_t at = der.find("sa/b");
  ASSERT_NE(at, std::string::npos);
  der[at + 3] = 'c';
  EXPECT_EQ(verifyChain(test::derToPem(der, "CERTIFICATE"), (*ca)->rootsPem()).error(),
            "certificate verification failed at depth 0: certificate signature failure");
}

TEST(PrivateKeyMatchesTest, MatchesOnlyTheRightKey) {
  const ThreeLevelChain chain = makeThreeLevelChain();
  EXPECT_TRUE(privateKeyMatches(chain.leaf, chain.leaf_key).ok());
  EXPECT_TRUE(privateKeyMatches(chain.leaf + chain.intermediate, chain.leaf_key).ok());
  EXPECT_EQ(privateKeyMatches(chain.intermediate, chain.leaf_key).error(),
            "private key does not match certificate");
  EXPECT_EQ(privateKeyMatches(chain.leaf, "junk").error(), "private key PEM: no private key found");
  EXPECT_EQ(privateKeyMatches("junk", chain.leaf_key).error(),
            "certificate PEM: no certificate found");
  // RSA keys too.
  auto ca = CertificateAuthority::create();
  auto rsa = KeyPair::generate(KeyType::kRsa);
  ASSERT_TRUE(ca.ok() && rsa.ok());
  auto leaf = (*ca)->sign(*createCsr(*rsa, "spiffe://td/ns/a/sa/b"), "spiffe://td/ns/a/sa/b", 1h);
  ASSERT_TRUE(leaf.ok()) << leaf.error();
  EXPECT_TRUE(privateKeyMatches(*leaf, *rsa->privateKeyPem()).ok());
  EXPECT_FALSE(privateKeyMatches(*leaf, chain.leaf_key).ok());
}

}  // namespace
}  // namespace remora::crypto
