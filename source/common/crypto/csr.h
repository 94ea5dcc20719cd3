#pragma once

// PKCS#10 certificate signing requests: a workload creates one for its SPIFFE ID; the CA parses
// it, checks its self-signature and what it asks for, and certifies its public key.

#include <string>
#include <string_view>
#include <vector>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "source/common/crypto/key_pair.h"
#include "source/common/crypto/openssl_ptr.h"
#include "source/common/crypto/result.h"
#include "source/common/crypto/subject_alt_name.h"

namespace remora::crypto {

// A PEM CSR ("-----BEGIN CERTIFICATE REQUEST-----") for `key`, signed with it (SHA-256),
// subject O=remora, requesting a subjectAltName extension with exactly one URI: `spiffe_id`.
// Errors: `spiffe_id` is not a valid SPIFFE ID (see validateSpiffeUri), encoding or signing
// failure.
Result<std::string> createCsr(const KeyPair& key, std::string_view spiffe_id);

// A parsed CSR. Holds the OpenSSL request; move-only.
class ParsedCsr {
 public:
  // Whether the CSR's signature verifies with the public key it contains, i.e. whoever made
  // it holds the private key and the content was not altered. Anything else the CSR says
  // means nothing until this is true.
  bool signatureVerifies() const { return signature_verifies_; }
  // Every SAN requested in the extensionRequest attribute, in order.
  const std::vector<SubjectAltName>& sans() const { return sans_; }
  // The requested URI SANs and DNS SANs.
  std::vector<std::string> uriSans() const { return sanValuesOfType(sans_, SanType::kUri); }
  std::vector<std::string> dnsSans() const { return sanValuesOfType(sans_, SanType::kDns); }
  // The subject in RFC 2253 form; empty for an empty subject.
  const std::string& subject() const { return subject_; }
  // The public key to certify, borrowed: valid while this ParsedCsr lives. Never null.
  EVP_PKEY* publicKey() const { return X509_REQ_get0_pubkey(request_.get()); }
  // The public key as SubjectPublicKeyInfo PEM. Errors: encoding failure.
  Result<std::string> publicKeyPem() const;

 private:
  friend Result<ParsedCsr> parseCsr(std::string_view pem);
  ParsedCsr() = default;

  X509ReqPtr request_;
  bool signature_verifies_ = false;
  std::vector<SubjectAltName> sans_;
  std::string subject_;
};

// Parses the first CSR in `pem` ("CERTIFICATE REQUEST" or "NEW CERTIFICATE REQUEST"). A
// signature that does not verify is not a parse error (see signatureVerifies()).
// Errors: no CSR in the text ("CSR PEM: no certificate request found"), a malformed or
// truncated one, a missing or undecodable public key, a malformed extensionRequest.
Result<ParsedCsr> parseCsr(std::string_view pem);

}  // namespace remora::crypto
