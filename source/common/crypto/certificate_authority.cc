#include "source/common/crypto/certificate_authority.h"

#include <algorithm>

#include <openssl/x509v3.h>

#include "source/common/crypto/certificate_builder.h"
#include "source/common/crypto/csr.h"
#include "source/common/crypto/key_pair.h"
#include "source/common/crypto/openssl_ptr.h"
#include "source/common/crypto/openssl_util.h"
#include "source/common/crypto/spiffe_id.h"
#include "source/common/crypto/subject_alt_name.h"

namespace remora::crypto {
namespace {

// A host name for a server certificate: dot-separated labels of letters, digits and inner
// hyphens (at most 63 characters each, 253 in all), optionally starting with a "*." wildcard.
// Stricter than DNS itself, because these names end up matched by TLS clients.
bool isDnsName(std::string_view name) {
  if (name.starts_with("*.")) {
    name.remove_prefix(2);
  }
  if (name.empty() || name.size() > 253) {
    return false;
  }
  size_t start = 0;
  while (true) {
    const size_t dot = name.find('.', start);
    const std::string_view label =
        name.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start);
    if (label.empty() || label.size() > 63 || label.front() == '-' || label.back() == '-') {
      return false;
    }
    for (const char c : label) {
      const bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
      if (!alnum && c != '-') {
        return false;
      }
    }
    if (dot == std::string_view::npos) {
      return true;
    }
    start = dot + 1;
  }
}

}  // namespace

struct CertificateAuthority::SigningRoot {
  X509Ptr cert;
  KeyPair key;
  std::chrono::system_clock::time_point not_after;
  TrustedRoot trusted;
};

CertificateAuthority::CertificateAuthority(std::shared_ptr<const SigningRoot> signer)
    : signer_(std::move(signer)) {}

CertificateAuthority::~CertificateAuthority() = default;

Result<std::shared_ptr<const CertificateAuthority::SigningRoot>>
CertificateAuthority::loadSigningRoot(std::string_view cert_pem, std::string_view key_pem) {
  auto cert = readOneCertificatePem(cert_pem, "root certificate PEM");
  if (!cert.ok()) {
    return Error{cert.error()};
  }
  auto key = KeyPair::fromPem(key_pem);
  if (!key.ok()) {
    return Error{"root key: " + key.error()};
  }
  if (Status status = checkSigningRoot(cert->get(), key->get(), std::chrono::system_clock::now());
      !status.ok()) {
    return Error{status.error()};
  }
  auto not_after = asn1TimeToTimePoint(X509_get0_notAfter(cert->get()));
  // Re-encode rather than keep the caller's text: the bundle then holds exactly one clean
  // PEM block per root, whatever comments or whitespace the input had.
  auto pem = certificateToPem(cert->get());
  if (!not_after.ok() || !pem.ok()) {
    return Error{"root certificate: " + (not_after.ok() ? pem.error() : not_after.error())};
  }
  std::string der = certificateDer(cert->get());
  return std::make_shared<const SigningRoot>(SigningRoot{
      std::move(*cert), std::move(*key), *not_after, {std::move(*pem), std::move(der)}});
}

Result<std::unique_ptr<CertificateAuthority>> CertificateAuthority::create(
    const RootCertificateOptions& options) {
  auto root = createRootCertificate(options);
  if (!root.ok()) {
    return Error{root.error()};
  }
  return fromPem(root->cert_pem, root->key_pem);
}

Result<std::unique_ptr<CertificateAuthority>> CertificateAuthority::fromPem(
    std::string_view root_cert_pem, std::string_view root_key_pem,
    std::string_view additional_trusted_roots_pem) {
  auto signer = loadSigningRoot(root_cert_pem, root_key_pem);
  if (!signer.ok()) {
    return Error{signer.error()};
  }
  std::unique_ptr<CertificateAuthority> ca(new CertificateAuthority(std::move(*signer)));
  if (additional_trusted_roots_pem.empty()) {
    return ca;
  }
  auto extra = readCertificatesPem(additional_trusted_roots_pem, "additional trusted roots PEM");
  if (!extra.ok()) {
    return Error{extra.error()};
  }
  for (X509Ptr& cert : *extra) {
    auto pem = certificateToPem(cert.get());
    if (!pem.ok()) {
      return Error{"additional trusted roots PEM: " + pem.error()};
    }
    TrustedRoot root{std::move(*pem), certificateDer(cert.get())};
    const bool duplicate =
        root.der == ca->signer_->trusted.der ||
        std::any_of(ca->older_roots_.begin(), ca->older_roots_.end(),
                    [&](const TrustedRoot& other) { return other.der == root.der; });
    if (!duplicate) {
      ca->older_roots_.push_back(std::move(root));
    }
  }
  return ca;
}

std::shared_ptr<const CertificateAuthority::SigningRoot> CertificateAuthority::signer() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return signer_;
}

Result<std::string> CertificateAuthority::sign(std::string_view csr_pem, std::string_view spiffe_id,
                                               std::chrono::seconds ttl) const {
  return sign(csr_pem, spiffe_id, ttl, std::chrono::system_clock::now());
}

Result<std::string> CertificateAuthority::sign(std::string_view csr_pem, std::string_view spiffe_id,
                                               std::chrono::seconds ttl,
                                               std::chrono::system_clock::time_point now) const {
  using std::chrono::seconds;
  OpenSslErrorScope errors;
  if (ttl <= seconds::zero()) {
    return Error{"cannot sign: certificate TTL must be positive"};
  }
  if (auto valid = validateSpiffeUri(spiffe_id); !valid.ok()) {
    return Error{"cannot sign: " + valid.error()};
  }

  // Everything the CSR claims is untrusted until its signature verifies.
  auto csr = parseCsr(csr_pem);
  if (!csr.ok()) {
    return Error{csr.error()};
  }
  if (!csr->signatureVerifies()) {
    return Error{"CSR signature does not verify"};
  }
  for (const std::string& uri : csr->uriSans()) {
    if (uri != spiffe_id) {
      return Error{"CSR requests URI SAN " + quoteForMessage(uri) + " but the caller authorized " +
                   quoteForMessage(spiffe_id)};
    }
  }
  if (auto type = keyTypeOf(csr->publicKey()); !type.ok()) {
    return Error{"CSR public key: " + type.error()};
  }
  auto san = uriSanExtension(spiffe_id, /*critical=*/true);
  if (!san.ok()) {
    return Error{"cannot sign: " + san.error()};
  }
  return issueLeaf(csr->publicKey(), "serverAuth,clientAuth", san->get(), ttl, now);
}

Result<std::string> CertificateAuthority::signServerCertificate(
    EVP_PKEY* public_key, const std::vector<SubjectAltName>& names, std::chrono::seconds ttl,
    std::chrono::system_clock::time_point now) const {
  OpenSslErrorScope errors;
  if (ttl <= std::chrono::seconds::zero()) {
    return Error{"cannot sign: certificate TTL must be positive"};
  }
  if (names.empty()) {
    return Error{"cannot sign: a server certificate needs at least one DNS name or IP address"};
  }
  for (const SubjectAltName& name : names) {
    if (name.type == SanType::kDns && !isDnsName(name.value)) {
      return Error{"cannot sign: " + quoteForMessage(name.value) + " is not a DNS name"};
    }
    if (name.type != SanType::kDns && name.type != SanType::kIp) {
      return Error{"cannot sign: a server certificate names DNS names and IP addresses only, not " +
                   std::string(sanTypeName(name.type))};
    }
  }
  if (auto type = keyTypeOf(public_key); !type.ok()) {
    return Error{"cannot sign: " + type.error()};
  }
  auto san = sanExtension(names, /*critical=*/true);  // also rejects malformed IP addresses
  if (!san.ok()) {
    return Error{"cannot sign: " + san.error()};
  }
  return issueLeaf(public_key, "serverAuth", san->get(), ttl, now);
}

Result<std::string> CertificateAuthority::issueLeaf(
    EVP_PKEY* public_key, const char* extended_key_usage, X509_EXTENSION* san,
    std::chrono::seconds ttl, std::chrono::system_clock::time_point now) const {
  using std::chrono::seconds;
  const std::shared_ptr<const SigningRoot> root = signer();
  if (root->not_after <= now) {
    return Error{"cannot sign: signing root expired at " + formatTime(root->not_after)};
  }
  // Compared in seconds: now + ttl could overflow system_clock's nanosecond range for an
  // absurd ttl, while the remaining root lifetime is always representable.
  const seconds remaining = std::chrono::duration_cast<seconds>(root->not_after - now);
  const seconds lifetime = std::min(ttl, remaining);
  const auto not_after = lifetime == remaining ? root->not_after : now + lifetime;

  auto cert = newCertificate();
  if (!cert.ok()) {
    return Error{"cannot sign: " + cert.error()};
  }
  X509* leaf = cert->get();
  X509* issuer = root->cert.get();
  // The subject stays empty (SPIFFE X.509-SVIDs identify by SAN only, and TLS clients match
  // server names against SANs), which is why the SAN extension must be critical (RFC 5280
  // section 4.2.1.6).
  if (X509_set_issuer_name(leaf, X509_get_subject_name(issuer)) != 1 ||
      X509_set_pubkey(leaf, public_key) != 1) {
    return Error{withOpenSslReason("cannot sign: cannot build certificate")};
  }
  Status status = setValidity(leaf, now - kClockSkew, not_after);
  if (status.ok()) {
    status = addConfigExtension(leaf, issuer, NID_basic_constraints, "critical,CA:FALSE");
  }
  if (status.ok()) {
    status = addConfigExtension(leaf, issuer, NID_key_usage,
                                "critical,digitalSignature,keyEncipherment");
  }
  if (status.ok()) {
    status = addConfigExtension(leaf, issuer, NID_ext_key_usage, extended_key_usage);
  }
  if (status.ok()) {
    status = addConfigExtension(leaf, issuer, NID_subject_key_identifier, "hash");
  }
  if (status.ok()) {
    status = addConfigExtension(leaf, issuer, NID_authority_key_identifier, "keyid:always");
  }
  if (status.ok()) {
    status = addExtension(leaf, san);
  }
  if (status.ok()) {
    status = signCertificate(leaf, root->key.get());
  }
  if (!status.ok()) {
    return Error{"cannot sign: " + status.error()};
  }
  return certificateToPem(leaf);
}

std::string CertificateAuthority::rootsPem() const {
  std::lock_guard<std::mutex> lock(mutex_);
  std::string bundle = signer_->trusted.pem;
  for (const TrustedRoot& root : older_roots_) {
    bundle += root.pem;
  }
  return bundle;
}

std::string CertificateAuthority::signingRootPem() const { return signer()->trusted.pem; }

size_t CertificateAuthority::trustedRootCount() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return 1 + older_roots_.size();
}

Status CertificateAuthority::rotate(std::string_view new_root_cert_pem,
                                    std::string_view new_root_key_pem) {
  // Parse and check outside the lock: it is the slow part and touches no shared state.
  auto next = loadSigningRoot(new_root_cert_pem, new_root_key_pem);
  if (!next.ok()) {
    return Error{"cannot rotate: " + next.error()};
  }
  std::lock_guard<std::mutex> lock(mutex_);
  const std::string& der = (*next)->trusted.der;
  if (der == signer_->trusted.der) {
    return Error{"cannot rotate: the new root is already the signing root"};
  }
  older_roots_.erase(std::remove_if(older_roots_.begin(), older_roots_.end(),
                                    [&](const TrustedRoot& root) { return root.der == der; }),
                     older_roots_.end());
  older_roots_.insert(older_roots_.begin(), signer_->trusted);
  signer_ = std::move(*next);
  return {};
}

Status CertificateAuthority::rotateToNewRoot(const RootCertificateOptions& options) {
  auto root = createRootCertificate(options);
  if (!root.ok()) {
    return Error{"cannot rotate: " + root.error()};
  }
  return rotate(root->cert_pem, root->key_pem);
}

size_t CertificateAuthority::retireOldRoots() {
  std::lock_guard<std::mutex> lock(mutex_);
  const size_t retired = older_roots_.size();
  older_roots_.clear();
  return retired;
}

Status CertificateAuthority::dropRoot(std::string_view root_cert_pem) {
  auto cert = readOneCertificatePem(root_cert_pem, "root certificate PEM");
  if (!cert.ok()) {
    return Error{"cannot drop root: " + cert.error()};
  }
  const std::string der = certificateDer(cert->get());
  std::lock_guard<std::mutex> lock(mutex_);
  if (der == signer_->trusted.der) {
    return Error{"cannot drop root: it is the signing root"};
  }
  const auto it = std::find_if(older_roots_.begin(), older_roots_.end(),
                               [&](const TrustedRoot& root) { return root.der == der; });
  if (it == older_roots_.end()) {
    return Error{"cannot drop root: it is not in the trusted bundle"};
  }
  older_roots_.erase(it);
  return {};
}

}  // namespace remora::crypto
