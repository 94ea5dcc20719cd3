#pragma once

// Steps shared by everything that issues an X.509 certificate (the self-signed root and the
// CA's leaves): random serials, validity windows and extensions.

#include <chrono>
#include <string_view>

#include <openssl/x509.h>

#include "source/common/crypto/openssl_ptr.h"
#include "source/common/crypto/result.h"

namespace remora::crypto {

// Serial numbers carry this many random bits: unpredictable serials are what RFC 5280 and the
// CA/B forum ask for, and 128 bits make collisions between independently started CAs
// negligible. The encoding stays within RFC 5280's 20-octet limit.
inline constexpr int kSerialBits = 128;

// A new X.509 v3 certificate with a random kSerialBits serial and nothing else set.
// Errors: allocation or random number generator failure.
Result<X509Ptr> newCertificate();

// Sets notBefore and notAfter. Errors: notAfter not after notBefore, encoding failure.
Status setValidity(X509* cert, std::chrono::system_clock::time_point not_before,
                   std::chrono::system_clock::time_point not_after);

// Adds the extension `nid` given in OpenSSL's config syntax ("critical,CA:TRUE",
// "keyid:always", "hash"). `issuer` is the issuing certificate (`cert` itself when
// self-signed), needed by authorityKeyIdentifier; `cert` must already have its public key for
// subjectKeyIdentifier. `value` is a compile-time constant of this library, never input.
// Errors name the extension.
Status addConfigExtension(X509* cert, X509* issuer, int nid, const char* value);

// Adds `extension` (copied) to `cert`. Errors: allocation failure.
Status addExtension(X509* cert, X509_EXTENSION* extension);

// Signs `cert` with `key` using SHA-256 (ECDSA or RSA PKCS#1 v1.5). Errors: signing failure.
Status signCertificate(X509* cert, EVP_PKEY* key);

}  // namespace remora::crypto
