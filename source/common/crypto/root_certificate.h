#pragma once

// CA root certificates: creating a new self-signed root, and checking that a root loaded from
// PEM can sign workload certificates.

#include <chrono>
#include <string>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "source/common/crypto/result.h"

namespace remora::crypto {

struct RootCertificateOptions {
  std::string organization = "remora";                            // the subject's O
  std::string common_name = "remora root CA";                     // the subject's CN
  std::chrono::seconds validity = std::chrono::hours(24 * 3653);  // ~10 years
};

struct RootCertificatePem {
  std::string cert_pem;
  std::string key_pem;  // PKCS#8; secret
};

// A new self-signed root: a fresh EC P-256 key; subject = issuer = O=<organization>,
// CN=<common_name>; random 128-bit serial; valid from `now` - 60 s (clock skew between
// machines) to `now` + validity; basicConstraints CA:TRUE and keyUsage keyCertSign|cRLSign,
// both critical; subjectKeyIdentifier; SHA-256 signature. `now` is a parameter so tests can
// make roots that have expired. Errors: empty common name, non-positive validity, a name part
// too long for X.509 (64 characters), OpenSSL failures.
Result<RootCertificatePem> createRootCertificate(
    const RootCertificateOptions& options = {},
    std::chrono::system_clock::time_point now = std::chrono::system_clock::now());

// Checks that `cert` with `key` can be the CA's signing root at `now`: a CA certificate
// (basicConstraints CA:TRUE; keyCertSign if it has keyUsage), self-signed with a valid
// signature (intermediates are not supported: the bundle of roots must be enough to verify a
// leaf), not expired, and `key` is its private key. Errors name the failed check, e.g.
// "private key does not match certificate".
Status checkSigningRoot(X509* cert, EVP_PKEY* key, std::chrono::system_clock::time_point now);

}  // namespace remora::crypto
