#include "test/pilot/kubernetes/test_certificates.h"

#include <openssl/x509v3.h>

#include <chrono>

#include "source/common/crypto/certificate_builder.h"
#include "source/common/crypto/key_pair.h"
#include "source/common/crypto/openssl_util.h"
#include "source/common/crypto/root_certificate.h"

namespace remora::pilot::kubernetes::testing {

namespace {

// A leaf signed by the CA, with `san` (OpenSSL config syntax) as its subjectAltName.
bool issueLeaf(X509* ca, EVP_PKEY* ca_key, const char* common_name, const char* san,
               std::string& cert_pem, std::string& key_pem) {
  auto key = crypto::KeyPair::generate();
  auto cert = crypto::newCertificate();
  if (!key.ok() || !cert.ok()) {
    return false;
  }
  X509* leaf = cert.value().get();
  X509_NAME* name = X509_get_subject_name(leaf);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>(common_name), -1, -1, 0);
  X509_set_issuer_name(leaf, X509_get_subject_name(ca));
  X509_set_pubkey(leaf, key->get());
  auto now = std::chrono::system_clock::now();
  if (!crypto::setValidity(leaf, now - std::chrono::hours(1), now + std::chrono::hours(24)).ok() ||
      !crypto::addConfigExtension(leaf, ca, NID_subject_alt_name, san).ok() ||
      !crypto::addConfigExtension(leaf, ca, NID_basic_constraints, "critical,CA:FALSE").ok() ||
      !crypto::signCertificate(leaf, ca_key).ok()) {
    return false;
  }
  auto pem = crypto::certificateToPem(leaf);
  auto private_pem = key->privateKeyPem();
  if (!pem.ok() || !private_pem.ok()) {
    return false;
  }
  cert_pem = pem.value();
  key_pem = private_pem.value();
  return true;
}

}  // namespace

TestPki makeTestPki() {
  TestPki pki;
  auto root = crypto::createRootCertificate({"remora-test", "fake API server CA"});
  if (!root.ok()) {
    return {};
  }
  auto ca = crypto::readOneCertificatePem(root->cert_pem, "test CA");
  auto ca_key = crypto::KeyPair::fromPem(root->key_pem);
  if (!ca.ok() || !ca_key.ok()) {
    return {};
  }
  pki.ca_pem = root->cert_pem;
  if (!issueLeaf(ca.value().get(), ca_key->get(), "kube-apiserver", "IP:127.0.0.1,DNS:localhost",
                 pki.server_cert_pem, pki.server_key_pem) ||
      !issueLeaf(ca.value().get(), ca_key->get(), "system:remora-pilot", "DNS:remora-pilot",
                 pki.client_cert_pem, pki.client_key_pem)) {
    return {};
  }
  return pki;
}

}  // namespace remora::pilot::kubernetes::testing
