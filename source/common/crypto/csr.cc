#include "source/common/crypto/csr.h"

#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "source/common/crypto/openssl_util.h"
#include "source/common/crypto/spiffe_id.h"

namespace remora::crypto {
namespace {

// The SANs requested in the CSR's extensionRequest attribute (none if it has no attribute or
// no subjectAltName in it).
Result<std::vector<SubjectAltName>> requestedSans(X509_REQ* request) {
  // X509_REQ_get_extensions returns null both for "no extensions" and for a malformed
  // attribute; tell them apart by whether the attribute exists.
  X509ExtensionStackPtr extensions(X509_REQ_get_extensions(request));
  if (!extensions) {
    if (X509_REQ_get_attr_by_NID(request, NID_ext_req, -1) >= 0) {
      return Error{withOpenSslReason("CSR: malformed extensionRequest attribute")};
    }
    return std::vector<SubjectAltName>();
  }
  const int index = X509v3_get_ext_by_NID(extensions.get(), NID_subject_alt_name, -1);
  if (index < 0) {
    return std::vector<SubjectAltName>();
  }
  GeneralNamesPtr names(
      static_cast<GENERAL_NAMES*>(X509V3_EXT_d2i(X509v3_get_ext(extensions.get(), index))));
  if (!names) {
    return Error{withOpenSslReason("CSR: malformed subjectAltName extension")};
  }
  return sansFromGeneralNames(names.get());
}

}  // namespace

Result<std::string> createCsr(const KeyPair& key, std::string_view spiffe_id) {
  OpenSslErrorScope errors;
  if (auto valid = validateSpiffeUri(spiffe_id); !valid.ok()) {
    return Error{"cannot create CSR: " + valid.error()};
  }
  X509ReqPtr request(X509_REQ_new());
  if (!request) {
    return Error{"out of memory allocating a CSR"};
  }
  // The identity travels in the SAN; O=remora only keeps tools that dislike an empty subject
  // quiet. The CA ignores the subject.
  X509_NAME* subject = X509_REQ_get_subject_name(request.get());
  if (X509_REQ_set_version(request.get(), X509_REQ_VERSION_1) != 1 ||
      X509_NAME_add_entry_by_txt(subject, "O", MBSTRING_UTF8,
                                 reinterpret_cast<const unsigned char*>("remora"), -1, -1,
                                 0) != 1 ||
      X509_REQ_set_pubkey(request.get(), key.get()) != 1) {
    return Error{withOpenSslReason("cannot build CSR")};
  }

  auto san = uriSanExtension(spiffe_id, /*critical=*/false);
  if (!san.ok()) {
    return Error{"cannot build CSR: " + san.error()};
  }
  X509ExtensionStackPtr extensions(sk_X509_EXTENSION_new_null());
  if (!extensions || sk_X509_EXTENSION_push(extensions.get(), san->get()) == 0) {
    return Error{"out of memory building CSR extensions"};
  }
  san->release();  // the stack owns it now
  if (X509_REQ_add_extensions(request.get(), extensions.get()) != 1) {
    return Error{withOpenSslReason("cannot add extensions to CSR")};
  }

  if (X509_REQ_sign(request.get(), key.get(), EVP_sha256()) <= 0) {
    return Error{withOpenSslReason("cannot sign CSR")};
  }
  auto bio = writableBio();
  if (!bio.ok()) {
    return Error{bio.error()};
  }
  if (PEM_write_bio_X509_REQ(bio->get(), request.get()) != 1) {
    return Error{withOpenSslReason("cannot encode CSR as PEM")};
  }
  return bioContents(bio->get());
}

Result<ParsedCsr> parseCsr(std::string_view pem) {
  OpenSslErrorScope errors;
  auto bio = readOnlyBio(pem);
  if (!bio.ok()) {
    return Error{"CSR PEM: " + bio.error()};
  }
  ParsedCsr csr;
  csr.request_.reset(PEM_read_bio_X509_REQ(bio->get(), nullptr, nullptr, nullptr));
  if (!csr.request_) {
    if (lastErrorIsPemNoStartLine()) {
      return Error{"CSR PEM: no certificate request found"};
    }
    return Error{withOpenSslReason("CSR PEM: malformed certificate request")};
  }
  EVP_PKEY* public_key = X509_REQ_get0_pubkey(csr.request_.get());
  if (public_key == nullptr) {
    return Error{withOpenSslReason("CSR: missing or undecodable public key")};
  }
  // 1 means verified; 0 a wrong signature; -1 a signature that could not even be checked
  // (malformed, or an algorithm mismatch). Both failures mean "does not verify".
  csr.signature_verifies_ = X509_REQ_verify(csr.request_.get(), public_key) == 1;
  auto sans = requestedSans(csr.request_.get());
  if (!sans.ok()) {
    return Error{sans.error()};
  }
  csr.sans_ = std::move(*sans);
  csr.subject_ = nameToString(X509_REQ_get_subject_name(csr.request_.get()));
  return csr;
}

Result<std::string> ParsedCsr::publicKeyPem() const {
  OpenSslErrorScope errors;
  auto bio = writableBio();
  if (!bio.ok()) {
    return Error{bio.error()};
  }
  if (PEM_write_bio_PUBKEY(bio->get(), publicKey()) != 1) {
    return Error{withOpenSslReason("cannot encode public key as PEM")};
  }
  return bioContents(bio->get());
}

}  // namespace remora::crypto
