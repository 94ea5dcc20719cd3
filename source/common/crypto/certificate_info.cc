#include "source/common/crypto/certificate_info.h"

#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/x509v3.h>

#include "source/common/crypto/key_pair.h"
#include "source/common/crypto/openssl_util.h"

namespace remora::crypto {
namespace {

Result<std::string> serialHex(const ASN1_INTEGER* serial) {
  BignumPtr number(ASN1_INTEGER_to_BN(serial, nullptr));
  if (!number) {
    return Error{withOpenSslReason("malformed serial number")};
  }
  char* hex = BN_bn2hex(number.get());
  if (hex == nullptr) {
    return Error{"out of memory formatting serial number"};
  }
  std::string out(hex);
  OPENSSL_free(hex);
  return out;
}

Result<CertificateInfo> infoOf(X509* cert) {
  CertificateInfo info;
  info.subject = nameToString(X509_get_subject_name(cert));
  info.issuer = nameToString(X509_get_issuer_name(cert));
  auto serial = serialHex(X509_get0_serialNumber(cert));
  if (!serial.ok()) {
    return Error{serial.error()};
  }
  info.serial_hex = std::move(*serial);
  auto not_before = asn1TimeToTimePoint(X509_get0_notBefore(cert));
  if (!not_before.ok()) {
    return Error{"notBefore: " + not_before.error()};
  }
  auto not_after = asn1TimeToTimePoint(X509_get0_notAfter(cert));
  if (!not_after.ok()) {
    return Error{"notAfter: " + not_after.error()};
  }
  info.not_before = *not_before;
  info.not_after = *not_after;

  // X509_get_ext_d2i reports "absent" as null with crit == -1, and "present but undecodable"
  // as null with crit >= 0 (-2 for duplicated extensions).
  int critical = -1;
  GeneralNamesPtr names(static_cast<GENERAL_NAMES*>(
      X509_get_ext_d2i(cert, NID_subject_alt_name, &critical, nullptr)));
  if (!names && critical != -1) {
    return Error{withOpenSslReason("malformed subjectAltName extension")};
  }
  info.sans = sansFromGeneralNames(names.get());
  info.is_ca = (X509_get_extension_flags(cert) & EXFLAG_CA) != 0;
  return info;
}

}  // namespace

Result<std::vector<CertificateInfo>> parseCertificateChain(std::string_view pem) {
  OpenSslErrorScope errors;
  auto certs = readCertificatesPem(pem, "certificate PEM");
  if (!certs.ok()) {
    return Error{certs.error()};
  }
  std::vector<CertificateInfo> infos;
  for (size_t i = 0; i < certs->size(); ++i) {
    auto info = infoOf((*certs)[i].get());
    if (!info.ok()) {
      return Error{"certificate #" + std::to_string(i + 1) + ": " + info.error()};
    }
    infos.push_back(std::move(*info));
  }
  return infos;
}

Status verifyChain(std::string_view leaf_and_intermediates_pem, std::string_view trusted_roots_pem,
                   std::chrono::system_clock::time_point now) {
  OpenSslErrorScope errors;
  auto chain = readCertificatesPem(leaf_and_intermediates_pem, "certificate chain PEM");
  if (!chain.ok()) {
    return Error{chain.error()};
  }
  auto roots = readCertificatesPem(trusted_roots_pem, "trusted roots PEM");
  if (!roots.ok()) {
    return Error{roots.error()};
  }

  X509StorePtr store(X509_STORE_new());
  X509StackPtr intermediates(sk_X509_new_null());
  X509StoreCtxPtr context(X509_STORE_CTX_new());
  if (!store || !intermediates || !context) {
    return Error{"out of memory preparing certificate verification"};
  }
  for (const X509Ptr& root : *roots) {
    // The store takes its own reference.
    if (X509_STORE_add_cert(store.get(), root.get()) != 1) {
      return Error{withOpenSslReason("cannot add trusted root")};
    }
  }
  for (size_t i = 1; i < chain->size(); ++i) {
    if (sk_X509_push(intermediates.get(), (*chain)[i].get()) == 0) {
      return Error{"out of memory preparing certificate verification"};
    }
    (*chain)[i].release();  // the stack owns it now
  }
  X509* leaf = chain->front().get();
  if (X509_STORE_CTX_init(context.get(), store.get(), leaf, intermediates.get()) != 1) {
    return Error{withOpenSslReason("cannot prepare certificate verification")};
  }
  X509_STORE_CTX_set_time(context.get(), 0, std::chrono::system_clock::to_time_t(now));
  if (X509_verify_cert(context.get()) == 1) {
    return {};
  }
  const int error = X509_STORE_CTX_get_error(context.get());
  return Error{"certificate verification failed at depth " +
               std::to_string(X509_STORE_CTX_get_error_depth(context.get())) + ": " +
               X509_verify_cert_error_string(error)};
}

Status privateKeyMatches(std::string_view cert_pem, std::string_view key_pem) {
  OpenSslErrorScope errors;
  auto certs = readCertificatesPem(cert_pem, "certificate PEM");
  if (!certs.ok()) {
    return Error{certs.error()};
  }
  // Any key algorithm: this answers "do these belong together", not "is the key acceptable".
  auto key = readAnyPrivateKeyPem(key_pem);
  if (!key.ok()) {
    return Error{key.error()};
  }
  if (EVP_PKEY_eq(X509_get0_pubkey(certs->front().get()), key->get()) != 1) {
    return Error{"private key does not match certificate"};
  }
  return {};
}

}  // namespace remora::crypto
