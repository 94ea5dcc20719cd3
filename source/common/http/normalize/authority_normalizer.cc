#include "source/common/http/normalize/authority_normalizer.h"

#include <arpa/inet.h>

#include <cstdint>
#include <optional>

namespace remora::http {
namespace {

bool unreserved(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '.' || c == '_' || c == '~';
}

bool subDelim(char c) {
  switch (c) {
    case '!':
    case '$':
    case '&':
    case '\'':
    case '(':
    case ')':
    case '*':
    case '+':
    case ',':
    case ';':
    case '=':
      return true;
    default:
      return false;
  }
}

bool hexDigit(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

int hexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  return (c | 0x20) - 'a' + 10;
}

char lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c | 0x20) : c; }

// "v" 1*HEXDIG "." 1*( unreserved / sub-delims / ":" ), RFC 3986 3.2.2.
bool validIpFuture(std::string_view literal) {
  if (literal.size() < 4 || lower(literal[0]) != 'v') return false;
  size_t dot = literal.find('.');
  if (dot == std::string_view::npos || dot < 2 || dot + 1 == literal.size()) return false;
  for (size_t i = 1; i < dot; ++i) {
    if (!hexDigit(literal[i])) return false;
  }
  for (size_t i = dot + 1; i < literal.size(); ++i) {
    char c = literal[i];
    if (!unreserved(c) && !subDelim(c) && c != ':') return false;
  }
  return true;
}

bool validIpv6(std::string_view literal) {
  char text[INET6_ADDRSTRLEN];
  if (literal.empty() || literal.size() >= sizeof(text)) return false;
  literal.copy(text, literal.size());
  text[literal.size()] = '\0';
  in6_addr address;
  return inet_pton(AF_INET6, text, &address) == 1;
}

// Appends the normalized reg-name; false when it is not one.
bool appendRegName(std::string_view host, std::string& out) {
  for (size_t i = 0; i < host.size(); ++i) {
    char c = host[i];
    if (c == '%') {
      if (i + 2 >= host.size() || !hexDigit(host[i + 1]) || !hexDigit(host[i + 2])) return false;
      char decoded = static_cast<char>(hexValue(host[i + 1]) * 16 + hexValue(host[i + 2]));
      // A host name is ASCII (IDNs travel as punycode): only unreserved bytes may be encoded.
      if (!unreserved(decoded)) return false;
      out.push_back(lower(decoded));
      i += 2;
    } else if (unreserved(c) || subDelim(c)) {
      out.push_back(lower(c));
    } else {
      return false;
    }
  }
  if (!out.empty() && out.back() == '.') out.pop_back();
  // Servers and resolvers drop a trailing dot, and some a second one: no empty labels at all.
  return !out.empty() && out.front() != '.' && out.back() != '.' &&
         out.find("..") == std::string::npos;
}

// The port's value without leading zeros, "" for an empty port, nullopt when invalid.
std::optional<std::string> normalizedPort(std::string_view port) {
  if (port.empty()) return std::string();
  uint32_t value = 0;
  for (char c : port) {
    if (c < '0' || c > '9') return std::nullopt;
    value = value * 10 + static_cast<uint32_t>(c - '0');
    if (value > 65535) return std::nullopt;
  }
  if (value == 0) return std::nullopt;
  return std::to_string(value);
}

// The common case, answered without a copy: a lower-case name or IPv4 address without
// encodings, empty labels or trailing dot, and a canonical port. Anything else takes the full
// path below (which leaves whatever passes here unchanged).
bool alreadyNormal(std::string_view authority) {
  size_t colon = authority.find(':');
  std::string_view host = authority.substr(0, colon);
  if (host.empty() || host.front() == '.' || host.back() == '.') return false;
  char previous = 0;
  for (char c : host) {
    bool plain = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
                 (c == '.' && previous != '.');
    if (!plain) return false;
    previous = c;
  }
  if (colon == std::string_view::npos) return true;
  std::string_view port = authority.substr(colon + 1);
  if (port.empty() || port.size() > 5 || port[0] == '0') return false;
  uint32_t value = 0;
  for (char c : port) {
    if (c < '0' || c > '9') return false;
    value = value * 10 + static_cast<uint32_t>(c - '0');
  }
  return value <= 65535;
}

}  // namespace

AuthorityResult normalizeAuthority(std::string_view authority) {
  AuthorityResult result;
  if (authority.empty() || alreadyNormal(authority)) return result;
  std::string out;
  out.reserve(authority.size());
  std::string_view rest;
  bool has_port = false;
  if (authority[0] == '[') {
    size_t close = authority.find(']');
    if (close == std::string_view::npos) return {AuthorityResult::Outcome::kRejected, {}};
    std::string_view literal = authority.substr(1, close - 1);
    if (!validIpv6(literal) && !validIpFuture(literal)) {
      return {AuthorityResult::Outcome::kRejected, {}};
    }
    out.push_back('[');
    for (char c : literal) out.push_back(lower(c));
    out.push_back(']');
    rest = authority.substr(close + 1);
    if (!rest.empty() && rest[0] != ':') return {AuthorityResult::Outcome::kRejected, {}};
    has_port = !rest.empty();
    if (has_port) rest.remove_prefix(1);
  } else {
    size_t colon = authority.find(':');
    if (!appendRegName(authority.substr(0, colon), out)) {
      return {AuthorityResult::Outcome::kRejected, {}};
    }
    has_port = colon != std::string_view::npos;
    if (has_port) rest = authority.substr(colon + 1);
  }
  if (has_port) {
    auto port = normalizedPort(rest);
    if (!port) return {AuthorityResult::Outcome::kRejected, {}};
    if (!port->empty()) {
      out.push_back(':');
      out.append(*port);
    }
  }
  if (out == authority) return result;
  result.outcome = AuthorityResult::Outcome::kNormalized;
  result.authority = std::move(out);
  return result;
}

}  // namespace remora::http
