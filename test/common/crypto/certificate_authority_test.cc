#include "source/common/crypto/certificate_authority.h"

#include <atomic>
#include <thread>

#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "source/common/crypto/certificate_info.h"
#include "source/common/crypto/csr.h"
#include "source/common/crypto/openssl_util.h"
#include "test/common/crypto/test_util.h"

namespace remora::crypto {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using namespace std::chrono_literals;

constexpr char kSpiffeId[] = "spiffe://cluster.local/ns/default/sa/productpage";

std::unique_ptr<CertificateAuthority> makeCa(const RootCertificateOptions& options = {}) {
  auto ca = CertificateAuthority::create(options);
  EXPECT_TRUE(ca.ok()) << ca.error();
  return ca.ok() ? std::move(*ca) : nullptr;
}

std::string makeCsr(std::string_view spiffe_id = kSpiffeId, KeyType type = KeyType::kEcdsaP256) {
  auto key = KeyPair::generate(type);
  EXPECT_TRUE(key.ok()) << key.error();
  auto csr = createCsr(*key, spiffe_id);
  EXPECT_TRUE(csr.ok()) << csr.error();
  return *csr;
}

std::string signOrDie(const CertificateAuthority& ca, std::chrono::seconds ttl = 24h) {
  auto leaf = ca.sign(makeCsr(), kSpiffeId, ttl);
  EXPECT_TRUE(leaf.ok()) << leaf.error();
  return leaf.ok() ? *leaf : std::string();
}

bool isCritical(X509* cert, int nid) {
  const int index = X509_get_ext_by_NID(cert, nid, -1);
  return index >= 0 && X509_EXTENSION_get_critical(X509_get_ext(cert, index)) == 1;
}

TEST(CertificateAuthorityTest, SignedLeafHasTheWorkloadProfile) {
  auto ca = makeCa();
  ASSERT_TRUE(ca);
  auto key = KeyPair::generate();
  ASSERT_TRUE(key.ok());
  const auto now = std::chrono::system_clock::now();
  auto leaf_pem = ca->sign(*createCsr(*key, kSpiffeId), kSpiffeId, 24h);
  ASSERT_TRUE(leaf_pem.ok()) << leaf_pem.error();

  EXPECT_TRUE(verifyChain(*leaf_pem, ca->rootsPem()).ok());
  EXPECT_TRUE(privateKeyMatches(*leaf_pem, *key->privateKeyPem()).ok());

  auto infos = parseCertificateChain(*leaf_pem);
  ASSERT_TRUE(infos.ok()) << infos.error();
  ASSERT_EQ(infos->size(), 1u);
  const CertificateInfo& info = infos->front();
  EXPECT_EQ(info.sans, (std::vector<SubjectAltName>{{SanType::kUri, kSpiffeId}}));
  EXPECT_FALSE(info.is_ca);
  EXPECT_EQ(info.subject, "");
  EXPECT_EQ(info.issuer, "CN=remora root CA,O=remora");
  // Lifetime: now - 60 s .. now + ttl, to within the test's own running time.
  EXPECT_NEAR(std::chrono::duration_cast<std::chrono::seconds>(info.not_after - now).count(),
              std::chrono::seconds(24h).count(), 120);
  EXPECT_NEAR(std::chrono::duration_cast<std::chrono::seconds>(now - info.not_before).count(), 60,
              5);
  EXPECT_NEAR(info.secondsUntilExpiry(now), std::chrono::seconds(24h).count(), 120);

  X509Ptr cert = test::parseCert(*leaf_pem);
  X509Ptr root = test::parseCert(ca->signingRootPem());
  ASSERT_TRUE(cert && root);
  const uint32_t flags = X509_get_extension_flags(cert.get());
  EXPECT_EQ(flags & EXFLAG_CA, 0u);
  EXPECT_NE(flags & EXFLAG_BCONS, 0u);  // basicConstraints present, CA:FALSE
  EXPECT_TRUE(isCritical(cert.get(), NID_basic_constraints));
  EXPECT_TRUE(isCritical(cert.get(), NID_key_usage));
  EXPECT_TRUE(isCritical(cert.get(), NID_subject_alt_name));
  EXPECT_FALSE(isCritical(cert.get(), NID_ext_key_usage));
  EXPECT_EQ(X509_get_key_usage(cert.get()),
            static_cast<uint32_t>(KU_DIGITAL_SIGNATURE | KU_KEY_ENCIPHERMENT));
  EXPECT_EQ(X509_get_extended_key_usage(cert.get()),
            static_cast<uint32_t>(XKU_SSL_SERVER | XKU_SSL_CLIENT));
  EXPECT_EQ(X509_get_signature_nid(cert.get()), NID_ecdsa_with_SHA256);
  EXPECT_EQ(X509_get_version(cert.get()), X509_VERSION_3);
  ASSERT_NE(X509_get0_authority_key_id(cert.get()), nullptr);
  EXPECT_EQ(ASN1_OCTET_STRING_cmp(X509_get0_authority_key_id(cert.get()),
                                  X509_get0_subject_key_id(root.get())),
            0);
  BignumPtr serial(ASN1_INTEGER_to_BN(X509_get0_serialNumber(cert.get()), nullptr));
  EXPECT_LE(BN_num_bits(serial.get()), 128);
  EXPECT_FALSE(BN_is_negative(serial.get()));
}

TEST(CertificateAuthorityTest, OpenSslToolVerifiesLeafAgainstBundle) {
  auto ca = makeCa();
  ASSERT_TRUE(ca);
  const std::string leaf = signOrDie(*ca);
  const std::string leaf_path = test::writeTempFile("leaf.pem", leaf);
  const std::string bundle_path = test::writeTempFile("bundle.pem", ca->rootsPem());
  for (const char* purpose : {"sslclient", "sslserver"}) {
    const auto result =
        test::runCommand(std::string("/usr/bin/openssl verify -x509_strict -purpose ") + purpose +
                         " -CAfile " + bundle_path + " " + leaf_path);
    EXPECT_EQ(result.exit_code, 0) << result.output;
    EXPECT_THAT(result.output, HasSubstr(leaf_path + ": OK"));
  }
}

TEST(CertificateAuthorityTest, SignsRsaCsrs) {
  auto ca = makeCa();
  ASSERT_TRUE(ca);
  auto leaf = ca->sign(makeCsr(kSpiffeId, KeyType::kRsa), kSpiffeId, 1h);
  ASSERT_TRUE(leaf.ok()) << leaf.error();
  EXPECT_TRUE(verifyChain(*leaf, ca->rootsPem()).ok());
}

TEST(CertificateAuthorityTest, CallerDecidesIdentity) {
  auto ca = makeCa();
  ASSERT_TRUE(ca);
  // A CSR without any URI SAN gets the caller's identity.
  auto key = KeyPair::generate();
  ASSERT_TRUE(key.ok());
  const std::string key_path = test::writeTempFile("key.pem", *key->privateKeyPem());
  const std::string csr_path = test::writeTempFile("dns_csr.pem", "");
  const auto made = test::runCommand("/usr/bin/openssl req -new -key " + key_path +
                                     " -subj /CN=admin -addext subjectAltName=DNS:evil.example"
                                     " -out " +
                                     csr_path);
  ASSERT_EQ(made.exit_code, 0) << made.output;
  auto leaf = ca->sign(test::readFile(csr_path), kSpiffeId, 1h);
  ASSERT_TRUE(leaf.ok()) << leaf.error();
  // The CSR's subject and DNS SAN are ignored.
  auto info = parseCertificateChain(*leaf);
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->front().sans, (std::vector<SubjectAltName>{{SanType::kUri, kSpiffeId}}));
  EXPECT_EQ(info->front().subject, "");
}

TEST(CertificateAuthorityTest, RefusesCsrForAnotherIdentity) {
  auto ca = makeCa();
  ASSERT_TRUE(ca);
  const std::string other = "spiffe://cluster.local/ns/default/sa/reviews";
  auto leaf = ca->sign(makeCsr(other), kSpiffeId, 1h);
  ASSERT_FALSE(leaf.ok());
  EXPECT_EQ(leaf.error(), "CSR requests URI SAN \"" + other + "\" but the caller authorized \"" +
                              std::string(kSpiffeId) + "\"");
}

TEST(CertificateAuthorityTest, RefusesBadCsrSignature) {
  auto ca = makeCa();
  ASSERT_TRUE(ca);
  std::string der = test::pemToDer(makeCsr());
  const size_t at = der.find("remora");  // inside the signed subject
  ASSERT_NE(at, std::string::npos);
  der[at] = 'R';
  auto leaf = ca->sign(test::derToPem(der, "CERTIFICATE REQUEST"), kSpiffeId, 1h);
  EXPECT_EQ(leaf.error(), "CSR signature does not verify");
}

TEST(CertificateAuthorityTest, RefusesBadInput) {
  auto ca = makeCa();
  ASSERT_TRUE(ca);
  const std::string csr = makeCsr();
  EXPECT_EQ(ca->sign("garbage", kSpiffeId, 1h).error(), "CSR PEM: no certificate request found");
  EXPECT_EQ(ca->sign(csr, kSpiffeId, 0s).error(), "cannot sign: certificate TTL must be positive");
  EXPECT_EQ(ca->sign(csr, kSpiffeId, -1s).error(), "cannot sign: certificate TTL must be positive");
  EXPECT_THAT(ca->sign(csr, "spiffe://Cluster.local/ns/a/sa/b", 1h).error(),
              HasSubstr("cannot sign: SPIFFE ID"));

  // A weak key in the CSR.
  EvpPkeyPtr weak(EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", static_cast<size_t>(1024)));
  ASSERT_TRUE(weak);
  const std::string weak_path = test::writeTempFile("weak.pem", "");
  {
    BioPtr bio(BIO_new_file(weak_path.c_str(), "w"));
    ASSERT_EQ(
        PEM_write_bio_PrivateKey(bio.get(), weak.get(), nullptr, nullptr, 0, nullptr, nullptr), 1);
  }
  const std::string weak_csr_path = test::writeTempFile("weak_csr.pem", "");
  const auto made = test::runCommand("/usr/bin/openssl req -new -key " + weak_path +
                                     " -subj /O=x -out " + weak_csr_path);
  ASSERT_EQ(made.exit_code, 0) << made.output;
  EXPECT_EQ(ca->sign(test::readFile(weak_csr_path), kSpiffeId, 1h).error(),
            "CSR public key: unsupported key: RSA with 1024 bits (minimum 2048)");
}

TEST(CertificateAuthorityTest, ServerCertificateHasTheServerProfile) {
  auto ca = makeCa();
  ASSERT_TRUE(ca);
  auto key = KeyPair::generate();
  ASSERT_TRUE(key.ok());
  const auto now = std::chrono::system_clock::now();
  const std::vector<SubjectAltName> names = {{SanType::kDns, "remora-pilot.istio-system.svc"},
                                             {SanType::kDns, "localhost"},
                                             {SanType::kIp, "127.0.0.1"}};
  auto cert_pem = ca->signServerCertificate(key->get(), names, 12h, now);
  ASSERT_TRUE(cert_pem.ok()) << cert_pem.error();
  EXPECT_TRUE(verifyChain(*cert_pem, ca->rootsPem()).ok());
  EXPECT_TRUE(privateKeyMatches(*cert_pem, *key->privateKeyPem()).ok());
  auto info = parseCertificateChain(*cert_pem);
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->front().sans, names);
  EXPECT_FALSE(info->front().is_ca);
  EXPECT_EQ(info->front().not_after - info->front().not_before,
            12h + CertificateAuthority::kClockSkew);
  X509Ptr cert = test::parseCert(*cert_pem);
  ASSERT_TRUE(cert);
  EXPECT_TRUE(isCritical(cert.get(), NID_subject_alt_name));
  EXPECT_EQ(X509_get_extended_key_usage(cert.get()), static_cast<uint32_t>(XKU_SSL_SERVER));

  // The openssl tool agrees: a server certificate for the host name and the IP, not a client.
  const std::string cert_path = test::writeTempFile("server.pem", *cert_pem);
  const std::string bundle_path = test::writeTempFile("server_bundle.pem", ca->rootsPem());
  const std::string verify = "/usr/bin/openssl verify -x509_strict -CAfile " + bundle_path;
  EXPECT_EQ(test::runCommand(verify + " -purpose sslserver -verify_hostname localhost " + cert_path)
                .exit_code,
            0);
  EXPECT_EQ(
      test::runCommand(verify + " -purpose sslserver -verify_ip 127.0.0.1 " + cert_path).exit_code,
      0);
  EXPECT_NE(test::runCommand(verify + " -purpose sslserver -verify_hostname other " + cert_path)
                .exit_code,
            0);
  EXPECT_NE(test::runCommand(verify + " -purpose sslclient " + cert_path).exit_code, 0);
}

TEST(CertificateAuthorityTest, ServerCertificateRefusesBadNames) {
  auto ca = makeCa();
  ASSERT_TRUE(ca);
  auto key = KeyPair::generate();
  ASSERT_TRUE(key.ok());
  const auto now = std::chrono::system_clock::now();
  auto sign = [&](std::vector<SubjectAltName> names, std::chrono::seconds ttl = 1h) {
    return ca->signServerCertificate(key->get(), names, ttl, now).error();
  };
  EXPECT_EQ(sign({}),
            "cannot sign: a server certificate needs at least one DNS name or IP address");
  EXPECT_EQ(sign({{SanType::kDns, "a.example"}}, 0s),
            "cannot sign: certificate TTL must be positive");
  EXPECT_EQ(sign({{SanType::kDns, "a..example"}}), "cannot sign: \"a..example\" is not a DNS name");
  EXPECT_EQ(sign({{SanType::kDns, "a,DNS:b"}}), "cannot sign: \"a,DNS:b\" is not a DNS name");
  EXPECT_EQ(sign({{SanType::kDns, "-a.example"}}), "cannot sign: \"-a.example\" is not a DNS name");
  EXPECT_EQ(sign({{SanType::kUri, "spiffe://td/x"}}),
            "cannot sign: a server certificate names DNS names and IP addresses only, not URI");
  EXPECT_EQ(sign({{SanType::kIp, "localhost"}}),
            "cannot sign: subjectAltName IP \"localhost\" is not an IP address");
  EXPECT_TRUE(
      ca->signServerCertificate(key->get(), {{SanType::kDns, "*.pilot.svc"}}, 1h, now).ok());
}

TEST(CertificateAuthorityTest, LifetimeIsCappedAtRootExpiry) {
  auto ca = makeCa({"remora", "short root", 2h});
  ASSERT_TRUE(ca);
  const std::string leaf = signOrDie(*ca, 24h * 30);
  auto leaf_info = parseCertificateChain(leaf);
  auto root_info = parseCertificateChain(ca->signingRootPem());
  ASSERT_TRUE(leaf_info.ok() && root_info.ok());
  EXPECT_EQ(leaf_info->front().not_after, root_info->front().not_after);
  EXPECT_TRUE(verifyChain(leaf, ca->rootsPem()).ok());

  // An absurd TTL does not overflow.
  auto huge = ca->sign(makeCsr(), kSpiffeId, std::chrono::seconds::max());
  ASSERT_TRUE(huge.ok()) << huge.error();
  EXPECT_EQ(parseCertificateChain(*huge)->front().not_after, root_info->front().not_after);

  // Once the root has expired, nothing is signed.
  auto late = ca->sign(makeCsr(), kSpiffeId, 1h, std::chrono::system_clock::now() + 3h);
  EXPECT_THAT(late.error(), HasSubstr("cannot sign: signing root expired at "));
}

TEST(CertificateAuthorityTest, ExpiredLeafFailsVerification) {
  const auto now = std::chrono::system_clock::now();
  // A root from three days ago, so the leaf below was valid under it when it was made.
  auto root = createRootCertificate({}, now - 72h);
  ASSERT_TRUE(root.ok()) << root.error();
  auto loaded = CertificateAuthority::fromPem(root->cert_pem, root->key_pem);
  ASSERT_TRUE(loaded.ok()) << loaded.error();
  const auto& ca = *loaded;
  auto leaf = ca->sign(makeCsr(), kSpiffeId, 1h, now - 48h);
  ASSERT_TRUE(leaf.ok()) << leaf.error();
  const Status status = verifyChain(*leaf, ca->rootsPem(), now);
  EXPECT_EQ(status.error(), "certificate verification failed at depth 0: certificate has expired");
  // It was valid at the time it was made for.
  const Status then = verifyChain(*leaf, ca->rootsPem(), now - 47h - 30min);
  EXPECT_TRUE(then.ok()) << then.error();

  const std::string leaf_path = test::writeTempFile("expired.pem", *leaf);
  const std::string bundle_path = test::writeTempFile("bundle.pem", ca->rootsPem());
  const auto result =
      test::runCommand("/usr/bin/openssl verify -CAfile " + bundle_path + " " + leaf_path);
  EXPECT_NE(result.exit_code, 0);
  EXPECT_THAT(result.output, HasSubstr("certificate has expired"));
}

TEST(CertificateAuthorityTest, LeafFromOtherCaFailsVerification) {
  auto ca = makeCa();
  auto other = makeCa();
  ASSERT_TRUE(ca && other);
  EXPECT_EQ(verifyChain(signOrDie(*ca), other->rootsPem()).error(),
            "certificate verification failed at depth 0: unable to get local issuer certificate");
}

TEST(CertificateAuthorityTest, RotationKeepsOldLeavesValidDuringOverlap) {
  auto ca = makeCa({"remora", "root one", 24h * 365});
  ASSERT_TRUE(ca);
  const std::string old_root = ca->signingRootPem();
  const std::string old_leaf = signOrDie(*ca);
  EXPECT_EQ(ca->trustedRootCount(), 1u);

  ASSERT_TRUE(ca->rotateToNewRoot({"remora", "root two", 24h * 365}).ok());
  const std::string new_root = ca->signingRootPem();
  EXPECT_NE(new_root, old_root);
  EXPECT_EQ(ca->trustedRootCount(), 2u);
  EXPECT_EQ(ca->rootsPem(), new_root + old_root);  // current first

  const std::string new_leaf = signOrDie(*ca);
  EXPECT_EQ(parseCertificateChain(new_leaf)->front().issuer, "CN=root two,O=remora");
  EXPECT_EQ(parseCertificateChain(old_leaf)->front().issuer, "CN=root one,O=remora");

  // Overlap: both verify against the bundle, in-process and with the openssl tool.
  const std::string bundle = ca->rootsPem();
  EXPECT_TRUE(verifyChain(old_leaf, bundle).ok());
  EXPECT_TRUE(verifyChain(new_leaf, bundle).ok());
  const std::string bundle_path = test::writeTempFile("bundle.pem", bundle);
  for (const std::string& leaf : {old_leaf, new_leaf}) {
    const std::string leaf_path = test::writeTempFile("leaf.pem", leaf);
    const auto result =
        test::runCommand("/usr/bin/openssl verify -CAfile " + bundle_path + " " + leaf_path);
    EXPECT_EQ(result.exit_code, 0) << result.output;
    EXPECT_THAT(result.output, HasSubstr(": OK"));
  }

  // Overlap over: the old root's leaves stop verifying.
  EXPECT_EQ(ca->retireOldRoots(), 1u);
  EXPECT_EQ(ca->rootsPem(), new_root);
  EXPECT_EQ(verifyChain(old_leaf, ca->rootsPem()).error(),
            "certificate verification failed at depth 0: unable to get local issuer certificate");
  EXPECT_TRUE(verifyChain(new_leaf, ca->rootsPem()).ok());
  EXPECT_EQ(ca->retireOldRoots(), 0u);
}

TEST(CertificateAuthorityTest, RotateToGivenRootDropAndRollBack) {
  auto ca = makeCa();
  ASSERT_TRUE(ca);
  const std::string first = ca->signingRootPem();
  auto second = createRootCertificate({"remora", "second", 24h});
  auto third = createRootCertificate({"remora", "third", 24h});
  ASSERT_TRUE(second.ok() && third.ok());

  ASSERT_TRUE(ca->rotate(second->cert_pem, second->key_pem).ok());
  ASSERT_TRUE(ca->rotate(third->cert_pem, third->key_pem).ok());
  EXPECT_EQ(ca->rootsPem(), third->cert_pem + second->cert_pem + first);

  EXPECT_EQ(ca->rotate(third->cert_pem, third->key_pem).error(),
            "cannot rotate: the new root is already the signing root");
  EXPECT_EQ(ca->dropRoot(third->cert_pem).error(), "cannot drop root: it is the signing root");
  ASSERT_TRUE(ca->dropRoot(first).ok());
  EXPECT_EQ(ca->dropRoot(first).error(), "cannot drop root: it is not in the trusted bundle");
  EXPECT_THAT(ca->dropRoot("nope").error(), HasSubstr("no certificate found"));
  EXPECT_EQ(ca->rootsPem(), third->cert_pem + second->cert_pem);

  // Rolling back to `second` promotes it without duplicating it.
  ASSERT_TRUE(ca->rotate(second->cert_pem, second->key_pem).ok());
  EXPECT_EQ(ca->rootsPem(), second->cert_pem + third->cert_pem);
  EXPECT_TRUE(verifyChain(signOrDie(*ca), second->cert_pem).ok());
}

TEST(CertificateAuthorityTest, RotateRejectsUnusableRoots) {
  auto ca = makeCa();
  ASSERT_TRUE(ca);
  const std::string before = ca->rootsPem();
  auto next = createRootCertificate();
  auto wrong_key = KeyPair::generate();
  ASSERT_TRUE(next.ok() && wrong_key.ok());
  EXPECT_EQ(ca->rotate(next->cert_pem, *wrong_key->privateKeyPem()).error(),
            "cannot rotate: private key does not match certificate");
  EXPECT_THAT(ca->rotate("junk", next->key_pem).error(),
              HasSubstr("root certificate PEM: no certificate found"));
  EXPECT_THAT(ca->rotate(next->cert_pem, "junk").error(),
              HasSubstr("root key: private key PEM: no private key found"));
  // A leaf with its own key is not a CA.
  auto key = KeyPair::generate();
  ASSERT_TRUE(key.ok());
  auto leaf = ca->sign(*createCsr(*key, kSpiffeId), kSpiffeId, 1h);
  ASSERT_TRUE(leaf.ok());
  EXPECT_EQ(ca->rotate(*leaf, *key->privateKeyPem()).error(),
            "cannot rotate: root certificate is not a CA (no basicConstraints CA:TRUE)");
  EXPECT_EQ(ca->rootsPem(), before);
}

TEST(CertificateAuthorityTest, FromPemLoadsRootAndOlderRoots) {
  auto current = createRootCertificate({"remora", "current", 24h});
  auto older = createRootCertificate({"remora", "older", 24h});
  ASSERT_TRUE(current.ok() && older.ok());
  // The signing root repeated in the extra bundle is not duplicated.
  auto ca = CertificateAuthority::fromPem(current->cert_pem, current->key_pem,
                                          older->cert_pem + current->cert_pem);
  ASSERT_TRUE(ca.ok()) << ca.error();
  EXPECT_EQ((*ca)->rootsPem(), current->cert_pem + older->cert_pem);
  EXPECT_EQ((*ca)->signingRootPem(), current->cert_pem);

  EXPECT_EQ(CertificateAuthority::fromPem(current->cert_pem, older->key_pem).error(),
            "private key does not match certificate");
  EXPECT_THAT(
      CertificateAuthority::fromPem(current->cert_pem + older->cert_pem, current->key_pem).error(),
      HasSubstr("expected one certificate, found 2"));
  EXPECT_THAT(CertificateAuthority::fromPem(current->cert_pem, current->key_pem, "junk").error(),
              HasSubstr("additional trusted roots PEM: no certificate found"));

  // An expired root is refused.
  auto expired =
      createRootCertificate({"remora", "old", 1h}, std::chrono::system_clock::now() - 2h);
  ASSERT_TRUE(expired.ok());
  EXPECT_THAT(CertificateAuthority::fromPem(expired->cert_pem, expired->key_pem).error(),
              HasSubstr("root certificate expired at "));
}

TEST(CertificateAuthorityTest, ConcurrentSigningDuringRotation) {
  auto ca = makeCa();
  ASSERT_TRUE(ca);
  // CSRs are made up front so the threads spend their time in the CA.
  std::vector<std::string> csrs;
  for (int i = 0; i < 8; ++i) {
    csrs.push_back(makeCsr());
  }
  std::atomic<int> failures{0};
  std::vector<std::string> leaves[4];
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 20; ++i) {
        auto leaf = ca->sign(csrs[(t + i) % csrs.size()], kSpiffeId, 1h);
        if (!leaf.ok()) {
          ++failures;
        } else {
          leaves[t].push_back(*leaf);
        }
      }
    });
  }
  for (int i = 0; i < 3; ++i) {
    EXPECT_TRUE(ca->rotateToNewRoot().ok());
  }
  for (std::thread& thread : threads) {
    thread.join();
  }
  EXPECT_EQ(failures.load(), 0);
  const std::string bundle = ca->rootsPem();
  EXPECT_EQ(ca->trustedRootCount(), 4u);
  for (const auto& per_thread : leaves) {
    for (const std::string& leaf : per_thread) {
      EXPECT_TRUE(verifyChain(leaf, bundle).ok());
    }
  }
}

}  // namespace
}  // namespace remora::crypto
