#pragma once

// :authority / Host normalization, so that virtual-host selection, host rules of the policies
// and the upstream see one spelling of a host. A pure function.
//
// authority = host [ ":" port ], host = IP-literal / reg-name (RFC 3986 3.2.2; no userinfo,
// RFC 9110 section 7.2):
// - reg-name (IPv4 addresses included): unreserved, sub-delims and percent-encodings only;
//   percent-encoded unreserved characters decoded, any other percent-encoding refused;
//   lower-cased; one trailing dot removed ("admin.example.com." is "admin.example.com");
//   an empty host or an empty label ("a..b", ".a", "a..") refused.
// - IP-literal: "[" IPv6address "]" (checked with inet_pton, no zone) or "[v<hex>.<text>]";
//   lower-cased.
// - port: digits only, 1..65535, written without leading zeros; an empty port (":") is
//   dropped (RFC 3986 6.2.3).

#include <string>
#include <string_view>

namespace remora::http {

struct AuthorityResult {
  enum class Outcome { kUnchanged, kNormalized, kRejected };
  Outcome outcome = Outcome::kUnchanged;
  std::string authority;  // kNormalized: the new value
};

// An empty authority is kUnchanged: whether one is required is the caller's decision.
AuthorityResult normalizeAuthority(std::string_view authority);

}  // namespace remora::http
