#pragma once

// What the proxy says about a peer's certificate in headers (x-forwarded-client-cert): its
// SHA-256 fingerprint, subject and PEM encoding. Pure functions of the certificate.

#include <openssl/x509.h>

#include <string>

namespace remora::tls {

// Lowercase hex SHA-256 of the certificate's DER encoding (as `openssl x509 -outform der |
// sha256sum` prints it).
std::string certificateSha256Hex(X509* cert);
// The subject in RFC 2253 form, e.g. "CN=productpage,O=remora-test".
std::string certificateSubject(X509* cert);
// The certificate as PEM text.
std::string certificatePem(X509* cert);

}  // namespace remora::tls
