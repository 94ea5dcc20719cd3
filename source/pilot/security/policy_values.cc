#include "source/pilot/security/policy_values.h"

#include <arpa/inet.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <string_view>

namespace remora::pilot::security {
namespace {

constexpr std::string_view kSpiffe = "spiffe://";
// Istio's default trust domain: in policies it means "the mesh's own trust domain".
constexpr std::string_view kDefaultTrustDomain = "cluster.local";

std::string quoted(const std::string& text) { return "\"" + text + "\""; }

bool startsWith(std::string_view text, std::string_view prefix) {
  return text.substr(0, prefix.size()) == prefix;
}

bool isAddressOrCidr(std::string_view text) {
  size_t slash = text.find('/');
  std::string address(text.substr(0, slash));
  std::array<unsigned char, 16> bytes{};
  bool v6 = address.find(':') != std::string::npos;
  if (address.empty() || inet_pton(v6 ? AF_INET6 : AF_INET, address.c_str(), bytes.data()) != 1) {
    return false;
  }
  if (slash == std::string_view::npos) return true;
  std::string_view digits = text.substr(slash + 1);
  uint32_t length = 0;
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), length);
  // At most 3 digits, as the engine reads them ("/0032" is refused there too).
  return !digits.empty() && digits.size() <= 3 && ec == std::errc() &&
         end == digits.data() + digits.size() && length <= (v6 ? 128u : 32u);
}

bool isPort(std::string_view text) {
  uint32_t port = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), port);
  return ec == std::errc() && end == text.data() + text.size() && port >= 1 && port <= 65535;
}

struct KnownKey {
  std::string_view key;
  ValueKind kind;
};
// The condition keys the proxy evaluates (besides request.headers[<name>]).
constexpr KnownKey kKnownKeys[] = {
    {"source.ip", ValueKind::kAddress},      {"remote.ip", ValueKind::kAddress},
    {"source.namespace", ValueKind::kText},  {"source.principal", ValueKind::kPrincipal},
    {"destination.ip", ValueKind::kAddress}, {"destination.port", ValueKind::kPort},
    {"connection.sni", ValueKind::kText},    {"request.auth.principal", ValueKind::kText},
};
// Keys Istio knows that the proxy cannot evaluate (no JWT claims beyond the principal, no
// Envoy filter metadata): refused rather than ignored, since ignoring a condition would
// widen an ALLOW rule.
constexpr std::string_view kUnsupportedKeys[] = {"request.auth.audiences", "request.auth.presenter",
                                                 "source.serviceAccount"};
constexpr std::string_view kUnsupportedPrefixes[] = {"request.auth.claims[", "experimental.",
                                                     "request.inline.headers["};

}  // namespace

std::optional<std::string> invalidValue(ValueKind kind, const std::string& value) {
  if (value.empty()) return "must not be empty";
  switch (kind) {
    case ValueKind::kText:
      break;
    case ValueKind::kPrincipal:
      if (value.size() == kSpiffe.size() && startsWith(value, kSpiffe)) {
        return quoted(value) + " names no identity";
      }
      break;
    case ValueKind::kAddress:
      if (!isAddressOrCidr(value)) return quoted(value) + " is not an IP address or CIDR range";
      break;
    case ValueKind::kPort:
      if (!isPort(value)) return quoted(value) + " is not a port number (1-65535)";
      break;
    case ValueKind::kPath:
      if (value.find("{*}") != std::string::npos || value.find("{**}") != std::string::npos) {
        return quoted(value) + ": path templates ({*}, {**}) are not supported";
      }
      break;
  }
  return std::nullopt;
}

std::string proxyValue(ValueKind kind, const std::string& value, const std::string& trust_domain) {
  if (kind != ValueKind::kPrincipal) return value;
  std::string_view id = value;
  if (startsWith(id, kSpiffe)) id.remove_prefix(kSpiffe.size());
  if (trust_domain != kDefaultTrustDomain && id.substr(0, id.find('/')) == kDefaultTrustDomain &&
      id.size() > kDefaultTrustDomain.size()) {
    return trust_domain + std::string(id.substr(kDefaultTrustDomain.size()));
  }
  return std::string(id);
}

ConditionKey conditionKey(const std::string& key) {
  if (key.empty()) return {std::nullopt, "required"};
  for (const KnownKey& known : kKnownKeys) {
    if (key == known.key) return {known.kind, {}};
  }
  constexpr std::string_view kHeaders = "request.headers[";
  if (startsWith(key, kHeaders) && key.back() == ']') {
    if (key.size() == kHeaders.size() + 1)
      return {std::nullopt, "no header name in " + quoted(key)};
    return {ValueKind::kText, {}};
  }
  bool unsupported =
      std::find(std::begin(kUnsupportedKeys), std::end(kUnsupportedKeys), key) !=
          std::end(kUnsupportedKeys) ||
      std::any_of(std::begin(kUnsupportedPrefixes), std::end(kUnsupportedPrefixes),
                  [&key](std::string_view prefix) { return startsWith(key, prefix); });
  if (unsupported) return {std::nullopt, quoted(key) + " is not supported"};
  return {std::nullopt, "unknown condition key " + quoted(key)};
}

}  // namespace remora::pilot::security
