#pragma once

// The mesh's certificate authority: signs workload certificates whose only identity is a
// SPIFFE ID, and manages the trusted root bundle across root rotations.
//
// Thread-safety: all methods may be called concurrently (the control plane signs from several
// gRPC threads while an admin rotates the root). A mutex guards the root list; sign() holds it
// only to take a reference to the current signing root and signs outside it, so signings run
// in parallel and a rotation never waits for one.

#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "source/common/crypto/result.h"
#include "source/common/crypto/root_certificate.h"
#include "source/common/crypto/subject_alt_name.h"

namespace remora::crypto {

class CertificateAuthority {
 public:
  // Leaves start this long before the signing time, so a verifier whose clock is slightly
  // behind the CA's does not see a certificate that is not valid yet.
  static constexpr std::chrono::seconds kClockSkew{60};

  // A CA with a new self-signed EC P-256 root (see createRootCertificate). Errors: as
  // createRootCertificate.
  static Result<std::unique_ptr<CertificateAuthority>> create(
      const RootCertificateOptions& options = {});

  // A CA signing with the root `root_cert_pem` (exactly one certificate) and its private key
  // `root_key_pem`. `additional_trusted_roots_pem` (may be empty) is a bundle of older roots
  // still trusted, e.g. to restart during a rotation overlap; they follow the signing root in
  // rootsPem(). Errors: unparsable PEM, or a root that fails checkSigningRoot (not a CA, not
  // self-signed, expired, "private key does not match certificate").
  static Result<std::unique_ptr<CertificateAuthority>> fromPem(
      std::string_view root_cert_pem, std::string_view root_key_pem,
      std::string_view additional_trusted_roots_pem = {});

  CertificateAuthority(const CertificateAuthority&) = delete;
  CertificateAuthority& operator=(const CertificateAuthority&) = delete;
  ~CertificateAuthority();

  // Signs a workload certificate for the public key in `csr_pem`. The caller has
  // authenticated the workload and decides its identity: the leaf's only SAN is the URI
  // `spiffe_id`; the CSR may request that URI (or no URI) and nothing else, its subject and
  // any DNS/IP/email SANs are ignored. The leaf has an empty subject, the signing root as
  // issuer, a random 128-bit serial, validity [now - kClockSkew, now + ttl] capped at the
  // root's notAfter, basicConstraints CA:FALSE (critical), keyUsage digitalSignature and
  // keyEncipherment (critical), extendedKeyUsage serverAuth and clientAuth,
  // subject/authorityKeyIdentifier, subjectAltName (critical), and a SHA-256 signature.
  // Returns the leaf as PEM (the chain up to the root is rootsPem()).
  // Errors: non-positive ttl; invalid `spiffe_id`; unparsable CSR; "CSR signature does not
  // verify"; a CSR requesting a different URI SAN (both IDs named); an unsupported CSR key;
  // an expired signing root.
  Result<std::string> sign(std::string_view csr_pem, std::string_view spiffe_id,
                           std::chrono::seconds ttl) const;

  // As above, with the signing time `now` given instead of read from the clock: tests use a
  // past time to obtain certificates that have already expired.
  Result<std::string> sign(std::string_view csr_pem, std::string_view spiffe_id,
                           std::chrono::seconds ttl,
                           std::chrono::system_clock::time_point now) const;

  // Signs a TLS server certificate for one of the control plane's own endpoints (its CA port),
  // for `public_key` (borrowed; a P-256 or RSA key the caller generated). Its SANs are exactly
  // `names` (critical), which must be DNS names (a letter-digit-hyphen label per dot, an
  // optional leading "*.") and IP addresses. The profile is the workload leaf's (see sign())
  // except that extendedKeyUsage is serverAuth only. Returns the certificate as PEM.
  // Errors: non-positive ttl; no names; a name that is not a DNS name or IP address; an
  // unsupported key; an expired signing root.
  Result<std::string> signServerCertificate(EVP_PKEY* public_key,
                                            const std::vector<SubjectAltName>& names,
                                            std::chrono::seconds ttl,
                                            std::chrono::system_clock::time_point now) const;

  // The trust bundle: the signing root first, then older roots still trusted, newest first,
  // concatenated PEM. Workloads verify peers against this.
  std::string rootsPem() const;
  // The current signing root alone, as PEM.
  std::string signingRootPem() const;
  // How many roots rootsPem() holds.
  size_t trustedRootCount() const;

  // Makes the given root (checked as in fromPem) the signer. The previous signing root stays
  // in the bundle, so certificates it signed keep verifying until retireOldRoots() or
  // dropRoot(). Promoting a root that is already in the bundle as an older root (rolling a
  // rotation back) moves it to the front. Errors: as fromPem; the root is already the signing
  // root.
  Status rotate(std::string_view new_root_cert_pem, std::string_view new_root_key_pem);

  // Creates a new self-signed root (see createRootCertificate) and rotates to it.
  Status rotateToNewRoot(const RootCertificateOptions& options = {});

  // Ends a rotation overlap: removes every root but the signing one from the bundle.
  // Returns how many were removed.
  size_t retireOldRoots();

  // Removes one older root (the PEM of a single certificate) from the bundle.
  // Errors: unparsable PEM; it is the signing root; it is not in the bundle.
  Status dropRoot(std::string_view root_cert_pem);

 private:
  struct SigningRoot;
  struct TrustedRoot {
    std::string pem;
    std::string der;  // for comparing certificates exactly
  };

  explicit CertificateAuthority(std::shared_ptr<const SigningRoot> signer);
  static Result<std::shared_ptr<const SigningRoot>> loadSigningRoot(std::string_view cert_pem,
                                                                    std::string_view key_pem);
  std::shared_ptr<const SigningRoot> signer() const;
  // Issues a leaf for `public_key` with the extensions both profiles share, `extended_key_usage`
  // (OpenSSL config syntax) and `san`, signed by the current signing root.
  Result<std::string> issueLeaf(EVP_PKEY* public_key, const char* extended_key_usage,
                                X509_EXTENSION* san, std::chrono::seconds ttl,
                                std::chrono::system_clock::time_point now) const;

  mutable std::mutex mutex_;
  // Immutable once built and shared with in-flight signings, so rotate() can swap it freely.
  std::shared_ptr<const SigningRoot> signer_;  // guarded by mutex_
  std::vector<TrustedRoot> older_roots_;       // guarded by mutex_; newest first
};

}  // namespace remora::crypto
