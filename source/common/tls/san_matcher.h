#pragma once

// Matching a peer certificate's subject-alt-names against configured expectations (exact,
// prefix, suffix; per SAN type). Used during verification, so a mismatch fails the handshake.

#include <string>
#include <vector>

#include <openssl/x509.h>

#include "remora/extensions/transport_sockets/tls/v1/tls.pb.h"
#include "source/interface/config/errors.h"

namespace remora::tls {

class SanMatcher {
 public:
  enum class Type { kAny, kEmail, kDns, kUri, kIp };
  enum class Kind { kExact, kPrefix, kSuffix };

  // Errors go under `path` (e.g. "...match_typed_subject_alt_names[0]").
  static bool fromProto(const extensions::transport_sockets::tls::v1::SubjectAltNameMatcher& proto,
                        const std::string& path, config::Errors& errors, SanMatcher& out);

  // Whether `value` (a SAN of `type`, IPs in text form) satisfies this matcher.
  bool matches(Type type, const std::string& value) const;
  std::string describe() const;

 private:
  Type type_ = Type::kAny;
  Kind kind_ = Kind::kExact;
  std::string pattern_;
};

// The certificate's SANs as (type, text) pairs; IP addresses as "10.0.0.1" / "fd00::1".
std::vector<std::pair<SanMatcher::Type, std::string>> subjectAltNames(X509* cert);

// True when `matchers` is empty or any matcher accepts any of the certificate's SANs.
bool matchesAnySan(X509* cert, const std::vector<SanMatcher>& matchers);

}  // namespace remora::tls
