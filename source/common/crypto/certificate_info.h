#pragma once

// Reading certificates for people and for pre-installation checks: a summary of each
// certificate in a PEM chain (admin pages), chain verification against a trust bundle, and
// checking that a private key belongs to a certificate.

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "source/common/crypto/result.h"
#include "source/common/crypto/subject_alt_name.h"

namespace remora::crypto {

struct CertificateInfo {
  std::string subject;     // RFC 2253 ("CN=remora root CA,O=remora"); empty for an empty subject
  std::string issuer;      // likewise
  std::string serial_hex;  // uppercase hex without separators ("0A1B..."), "-" prefix if negative
  std::chrono::system_clock::time_point not_before;
  std::chrono::system_clock::time_point not_after;
  std::vector<SubjectAltName> sans;  // in certificate order
  bool is_ca = false;                // basicConstraints CA:TRUE

  // The URI SANs (SPIFFE IDs), in order.
  std::vector<std::string> uriSans() const { return sanValuesOfType(sans, SanType::kUri); }
  // Whole seconds from `now` until notAfter; negative once expired.
  int64_t secondsUntilExpiry(std::chrono::system_clock::time_point now) const {
    return std::chrono::duration_cast<std::chrono::seconds>(not_after - now).count();
  }
};

// The info of every certificate in `pem` (one or more PEM certificates; text between them is
// ignored), in order. Errors: "certificate PEM: no certificate found", a malformed or
// truncated certificate, undecodable validity times or subjectAltName.
Result<std::vector<CertificateInfo>> parseCertificateChain(std::string_view pem);

// Verifies the first certificate in `leaf_and_intermediates_pem` up to one of the
// certificates in `trusted_roots_pem`, using the other certificates in the first argument as
// untrusted intermediates, at time `now`. Checks signatures, validity periods and CA
// constraints (not purpose, hostnames or revocation). Errors: unparsable PEM, or
// "certificate verification failed at depth N: <OpenSSL reason>", e.g. "certificate has
// expired", "unable to get local issuer certificate".
Status verifyChain(std::string_view leaf_and_intermediates_pem, std::string_view trusted_roots_pem,
                   std::chrono::system_clock::time_point now = std::chrono::system_clock::now());

// Ok if `key_pem` is the private key of the (first) certificate in `cert_pem`. Errors:
// unparsable certificate or key, or "private key does not match certificate".
Status privateKeyMatches(std::string_view cert_pem, std::string_view key_pem);

}  // namespace remora::crypto
