#include "source/common/crypto/certificate_builder.h"

#include <openssl/objects.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

#include "source/common/crypto/openssl_util.h"

namespace remora::crypto {
namespace {

// Random, positive and non-zero (RFC 5280 section 4.1.2.2).
Status setRandomSerial(X509* cert) {
  BignumPtr serial(BN_new());
  if (!serial) {
    return Error{"out of memory allocating a serial number"};
  }
  do {
    if (BN_rand(serial.get(), kSerialBits, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY) != 1) {
      return Error{withOpenSslReason("random number generator failed")};
    }
  } while (BN_is_zero(serial.get()));
  Asn1IntegerPtr integer(BN_to_ASN1_INTEGER(serial.get(), nullptr));
  if (!integer || X509_set_serialNumber(cert, integer.get()) != 1) {
    return Error{withOpenSslReason("cannot set serial number")};
  }
  return {};
}

}  // namespace

Result<X509Ptr> newCertificate() {
  OpenSslErrorScope errors;
  X509Ptr cert(X509_new());
  if (!cert) {
    return Error{"out of memory allocating a certificate"};
  }
  if (X509_set_version(cert.get(), X509_VERSION_3) != 1) {
    return Error{withOpenSslReason("cannot set certificate version")};
  }
  if (Status status = setRandomSerial(cert.get()); !status.ok()) {
    return Error{status.error()};
  }
  return cert;
}

Status setValidity(X509* cert, std::chrono::system_clock::time_point not_before,
                   std::chrono::system_clock::time_point not_after) {
  if (not_after <= not_before) {
    return Error{"certificate validity is empty: notAfter is not after notBefore"};
  }
  if (Status status = setAsn1Time(X509_getm_notBefore(cert), not_before); !status.ok()) {
    return status;
  }
  return setAsn1Time(X509_getm_notAfter(cert), not_after);
}

Status addConfigExtension(X509* cert, X509* issuer, int nid, const char* value) {
  OpenSslErrorScope errors;
  X509V3_CTX context;
  X509V3_set_ctx(&context, issuer, cert, nullptr, nullptr, 0);
  X509ExtensionPtr extension(X509V3_EXT_nconf_nid(nullptr, &context, nid, value));
  const char* name = OBJ_nid2sn(nid);
  if (!extension) {
    return Error{withOpenSslReason("cannot build " + std::string(name) + " extension")};
  }
  if (X509_add_ext(cert, extension.get(), -1) != 1) {
    return Error{withOpenSslReason("cannot add " + std::string(name) + " extension")};
  }
  return {};
}

Status addExtension(X509* cert, X509_EXTENSION* extension) {
  OpenSslErrorScope errors;
  if (X509_add_ext(cert, extension, -1) != 1) {
    return Error{withOpenSslReason("cannot add extension")};
  }
  return {};
}

Status signCertificate(X509* cert, EVP_PKEY* key) {
  OpenSslErrorScope errors;
  if (X509_sign(cert, key, EVP_sha256()) <= 0) {
    return Error{withOpenSslReason("cannot sign certificate")};
  }
  return {};
}

}  // namespace remora::crypto
