#include "source/common/crypto/spiffe_id.h"

#include <vector>

namespace remora::crypto {
namespace {

constexpr std::string_view kScheme = "spiffe";
constexpr std::string_view kSchemeSeparator = "://";

bool isTrustDomainChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '-' || c == '_';
}

bool isPathChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
         c == '-' || c == '_';
}

Error invalid(std::string_view uri, const std::string& reason) {
  return Error{"SPIFFE ID " + quoteForMessage(uri) + ": " + reason};
}

// The character in quotes for a message ('A', or '\x00' for an unprintable one).
std::string quoteChar(char c) {
  std::string quoted = quoteForMessage(std::string_view(&c, 1));
  quoted.front() = '\'';
  quoted.back() = '\'';
  return quoted;
}

// The path's segments; `path` is empty or starts with '/'.
std::vector<std::string_view> splitPath(std::string_view path) {
  std::vector<std::string_view> segments;
  while (!path.empty()) {
    path.remove_prefix(1);  // the '/'
    const size_t end = path.find('/');
    segments.push_back(path.substr(0, end));
    path = end == std::string_view::npos ? std::string_view() : path.substr(end);
  }
  return segments;
}

}  // namespace

Result<std::string> validateSpiffeUri(std::string_view uri) {
  if (uri.empty()) {
    return Error{"SPIFFE ID is empty"};
  }
  if (uri.size() > kMaxSpiffeIdLength) {
    return Error{"SPIFFE ID is " + std::to_string(uri.size()) + " bytes long (maximum " +
                 std::to_string(kMaxSpiffeIdLength) + ")"};
  }
  const size_t separator = uri.find(kSchemeSeparator);
  if (separator == std::string_view::npos) {
    return invalid(uri, "missing \"spiffe://\" prefix");
  }
  if (uri.substr(0, separator) != kScheme) {
    return invalid(uri,
                   "scheme must be \"spiffe\", got " + quoteForMessage(uri.substr(0, separator)));
  }
  // These three are checked before the character rules so the message says what the URI
  // tried to do rather than naming a bad character.
  if (uri.find('?') != std::string_view::npos) {
    return invalid(uri, "query is not allowed");
  }
  if (uri.find('#') != std::string_view::npos) {
    return invalid(uri, "fragment is not allowed");
  }
  if (uri.find('%') != std::string_view::npos) {
    return invalid(uri, "percent-encoding is not allowed");
  }

  const std::string_view rest = uri.substr(separator + kSchemeSeparator.size());
  const size_t path_start = rest.find('/');
  const std::string_view trust_domain = rest.substr(0, path_start);
  const std::string_view path =
      path_start == std::string_view::npos ? std::string_view() : rest.substr(path_start);

  if (trust_domain.empty()) {
    return invalid(uri, "trust domain is empty");
  }
  if (trust_domain.size() > kMaxTrustDomainLength) {
    return invalid(uri, "trust domain is longer than " + std::to_string(kMaxTrustDomainLength) +
                            " characters");
  }
  for (const char c : trust_domain) {
    if (!isTrustDomainChar(c)) {
      return invalid(uri, "trust domain contains invalid character " + quoteChar(c) +
                              " (allowed: a-z 0-9 . - _)");
    }
  }
  for (const std::string_view segment : splitPath(path)) {
    if (segment.empty()) {
      return invalid(uri, "path has an empty segment (\"//\" or a trailing \"/\")");
    }
    if (segment == "." || segment == "..") {
      return invalid(uri, "path segment " + quoteForMessage(segment) + " is not allowed");
    }
    for (const char c : segment) {
      if (!isPathChar(c)) {
        return invalid(uri, "path segment " + quoteForMessage(segment) +
                                " contains invalid character " + quoteChar(c) +
                                " (allowed: A-Z a-z 0-9 . - _)");
      }
    }
  }
  return std::string(trust_domain);
}

Result<SpiffeId> SpiffeId::parse(std::string_view uri) {
  auto trust_domain = validateSpiffeUri(uri);
  if (!trust_domain.ok()) {
    return Error{trust_domain.error()};
  }
  const std::string_view path =
      uri.substr(kScheme.size() + kSchemeSeparator.size() + trust_domain->size());
  const std::vector<std::string_view> segments = splitPath(path);
  if (segments.size() != 4 || segments[0] != "ns" || segments[2] != "sa") {
    return invalid(uri, "path must be /ns/<namespace>/sa/<service-account>");
  }
  return SpiffeId{std::move(*trust_domain), std::string(segments[1]), std::string(segments[3])};
}

Result<SpiffeId> SpiffeId::create(std::string_view trust_domain, std::string_view ns,
                                  std::string_view sa) {
  // Validating the formatted string also catches a '/' inside a part: it adds path segments,
  // so the result no longer has the /ns/<ns>/sa/<sa> shape.
  SpiffeId id{std::string(trust_domain), std::string(ns), std::string(sa)};
  if (auto parsed = parse(id.toString()); !parsed.ok()) {
    return Error{parsed.error()};
  }
  return id;
}

std::string SpiffeId::toString() const {
  std::string out;
  out.reserve(kScheme.size() + kSchemeSeparator.size() + trust_domain.size() + ns.size() +
              sa.size() + 8);
  out.append(kScheme).append(kSchemeSeparator).append(trust_domain);
  out.append("/ns/").append(ns).append("/sa/").append(sa);
  return out;
}

}  // namespace remora::crypto
