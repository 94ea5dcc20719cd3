#include "source/common/crypto/root_certificate.h"

#include <openssl/x509v3.h>

#include "source/common/crypto/certificate_builder.h"
#include "source/common/crypto/key_pair.h"
#include "source/common/crypto/openssl_util.h"

namespace remora::crypto {
namespace {

constexpr std::chrono::seconds kClockSkew{60};

Status addNameEntry(X509_NAME* name, const char* field, const std::string& value) {
  if (X509_NAME_add_entry_by_txt(name, field, MBSTRING_UTF8,
                                 reinterpret_cast<const unsigned char*>(value.data()),
                                 static_cast<int>(value.size()), -1, 0) != 1) {
    return Error{withOpenSslReason("root subject " + std::string(field) + " " +
                                   quoteForMessage(value) + " is invalid")};
  }
  return {};
}

}  // namespace

Result<RootCertificatePem> createRootCertificate(const RootCertificateOptions& options,
                                                 std::chrono::system_clock::time_point now) {
  OpenSslErrorScope errors;
  if (options.common_name.empty()) {
    return Error{"root common name is empty"};
  }
  if (options.validity <= std::chrono::seconds::zero()) {
    return Error{"root validity must be positive"};
  }
  auto key = KeyPair::generate(KeyType::kEcdsaP256);
  if (!key.ok()) {
    return Error{"cannot create root: " + key.error()};
  }
  auto cert = newCertificate();
  if (!cert.ok()) {
    return Error{"cannot create root: " + cert.error()};
  }
  X509* x509 = cert->get();

  X509NamePtr name(X509_NAME_new());
  if (!name) {
    return Error{"out of memory allocating a name"};
  }
  if (!options.organization.empty()) {
    if (Status status = addNameEntry(name.get(), "O", options.organization); !status.ok()) {
      return Error{status.error()};
    }
  }
  if (Status status = addNameEntry(name.get(), "CN", options.common_name); !status.ok()) {
    return Error{status.error()};
  }
  if (X509_set_subject_name(x509, name.get()) != 1 || X509_set_issuer_name(x509, name.get()) != 1 ||
      X509_set_pubkey(x509, key->get()) != 1) {
    return Error{withOpenSslReason("cannot build root certificate")};
  }
  if (Status status = setValidity(x509, now - kClockSkew, now + options.validity); !status.ok()) {
    return Error{"cannot create root: " + status.error()};
  }
  Status status = addConfigExtension(x509, x509, NID_basic_constraints, "critical,CA:TRUE");
  if (status.ok()) {
    status = addConfigExtension(x509, x509, NID_key_usage, "critical,keyCertSign,cRLSign");
  }
  if (status.ok()) {
    status = addConfigExtension(x509, x509, NID_subject_key_identifier, "hash");
  }
  if (status.ok()) {
    status = signCertificate(x509, key->get());
  }
  if (!status.ok()) {
    return Error{"cannot create root: " + status.error()};
  }

  auto cert_pem = certificateToPem(x509);
  auto key_pem = key->privateKeyPem();
  if (!cert_pem.ok() || !key_pem.ok()) {
    return Error{"cannot create root: " + (cert_pem.ok() ? key_pem.error() : cert_pem.error())};
  }
  return RootCertificatePem{std::move(*cert_pem), std::move(*key_pem)};
}

Status checkSigningRoot(X509* cert, EVP_PKEY* key, std::chrono::system_clock::time_point now) {
  OpenSslErrorScope errors;
  // X509_get_extension_flags also fills OpenSSL's per-certificate extension cache, which
  // makes later concurrent read-only use of this certificate (by signing threads) lock-free.
  const uint32_t flags = X509_get_extension_flags(cert);
  if ((flags & EXFLAG_INVALID) != 0) {
    return Error{"root certificate has invalid extensions"};
  }
  if ((flags & EXFLAG_CA) == 0) {
    return Error{"root certificate is not a CA (no basicConstraints CA:TRUE)"};
  }
  if ((flags & EXFLAG_KUSAGE) != 0 && (X509_get_key_usage(cert) & KU_KEY_CERT_SIGN) == 0) {
    return Error{"root certificate keyUsage does not allow keyCertSign"};
  }
  if (X509_self_signed(cert, /*verify_signature=*/1) != 1) {
    return Error{"root certificate is not self-signed (intermediate CAs are not supported)"};
  }
  if (EVP_PKEY_eq(X509_get0_pubkey(cert), key) != 1) {
    return Error{"private key does not match certificate"};
  }
  auto not_after = asn1TimeToTimePoint(X509_get0_notAfter(cert));
  if (!not_after.ok()) {
    return Error{"root certificate notAfter: " + not_after.error()};
  }
  if (*not_after <= now) {
    return Error{"root certificate expired at " + formatTime(*not_after)};
  }
  return {};
}

}  // namespace remora::crypto
