#pragma once

// SPIFFE IDs: the URI identities carried in workload certificates' subjectAltName.
// Validation follows the SPIFFE ID specification strictly, because a lax parser here would let
// two spellings name one identity (or smuggle one past an authorization check).

#include <cstddef>
#include <string>
#include <string_view>

#include "source/common/crypto/result.h"

namespace remora::crypto {

inline constexpr size_t kMaxSpiffeIdLength = 2048;
inline constexpr size_t kMaxTrustDomainLength = 255;

// Checks that `uri` is a valid SPIFFE ID with any path (or none, the trust domain's own ID):
// "spiffe://<trust-domain>[/<segment>...]" where the scheme is exactly "spiffe", the trust
// domain is non-empty, at most 255 characters of [a-z0-9._-] (no port, no user info), each
// path segment is non-empty, not "." or "..", and made of [A-Za-z0-9._-]; no query, fragment
// or percent-encoding; at most 2048 bytes in all. Returns the trust domain. Errors name the
// rule that was broken and quote the ID.
Result<std::string> validateSpiffeUri(std::string_view uri);

// A workload identity in the mesh's format:
// spiffe://<trust_domain>/ns/<namespace>/sa/<service-account>.
struct SpiffeId {
  std::string trust_domain;
  std::string ns;  // Kubernetes namespace
  std::string sa;  // service account

  // Parses a workload SPIFFE ID. Errors: anything validateSpiffeUri rejects, or a path that is
  // not exactly /ns/<namespace>/sa/<service-account>.
  static Result<SpiffeId> parse(std::string_view uri);

  // Builds an ID from its parts, validating the result as parse() does.
  static Result<SpiffeId> create(std::string_view trust_domain, std::string_view ns,
                                 std::string_view sa);

  // "spiffe://<trust_domain>/ns/<ns>/sa/<sa>". Does not validate: for an ID from parse() or
  // create() the result is valid and parses back to an equal SpiffeId.
  std::string toString() const;

  bool operator==(const SpiffeId&) const = default;
};

}  // namespace remora::crypto
