#include "source/common/rbac/policy_matcher.h"

#include <algorithm>
#include <charconv>

namespace remora::rbac {
namespace {

using google::protobuf::RepeatedPtrField;

constexpr std::string_view kSpiffe = "spiffe://";

std::string_view stripSpiffe(std::string_view id) {
  if (id.substr(0, kSpiffe.size()) == kSpiffe) id.remove_prefix(kSpiffe.size());
  return id;
}

// "cluster.local/ns/default/sa/productpage" -> "default"; empty when there is none.
std::string_view namespaceOf(std::string_view principal) {
  constexpr std::string_view kMarker = "/ns/";
  size_t at = principal.find(kMarker);
  if (at == std::string_view::npos) return {};
  std::string_view rest = principal.substr(at + kMarker.size());
  return rest.substr(0, rest.find('/'));
}

// "example.com:8080" -> "example.com", "[::1]:80" -> "[::1]"; unchanged without a port.
std::string_view hostWithoutPort(std::string_view host) {
  size_t colon = host.rfind(':');
  if (colon == std::string_view::npos) return host;
  std::string_view port = host.substr(colon + 1);
  if (port.empty() ||
      !std::all_of(port.begin(), port.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return host;
  }
  std::string_view name = host.substr(0, colon);
  // An unbracketed IPv6 literal has more colons and no port.
  if (name.find(':') != std::string_view::npos && name.back() != ']') return host;
  return name;
}

std::string_view pathWithoutQuery(std::string_view path) {
  return path.substr(0, std::min(path.find('?'), path.find('#')));
}

std::string lowercase(std::string_view text) {
  std::string out(text);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

std::string quoted(std::string_view text) { return "\"" + std::string(text) + "\""; }

enum class ValueKind { kString, kCidr, kPort };

ValueKind valueKind(Attribute attribute) {
  switch (attribute) {
    case Attribute::kSourceIp:
    case Attribute::kRemoteIp:
    case Attribute::kDestinationIp:
      return ValueKind::kCidr;
    case Attribute::kDestinationPort:
      return ValueKind::kPort;
    default:
      return ValueKind::kString;
  }
}

std::optional<uint16_t> parsePort(std::string_view text) {
  uint32_t port = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), port);
  if (ec != std::errc() || end != text.data() + text.size() || port == 0 || port > 65535) {
    return std::nullopt;
  }
  return static_cast<uint16_t>(port);
}

void addField(FieldSet& set, Attribute attribute, bool negated,
              const RepeatedPtrField<std::string>& values, const std::string& path,
              std::string_view field, config::Errors& errors) {
  if (values.empty()) return;
  FieldMatcher matcher;
  if (matcher.init(attribute, negated, values, path + "." + std::string(field), errors)) {
    set.fields().push_back(std::move(matcher));
  }
}

struct ConditionKey {
  std::string_view key;
  Attribute attribute = Attribute::kPrincipal;
};
constexpr ConditionKey kConditionKeys[] = {
    {"source.ip", Attribute::kSourceIp},
    {"remote.ip", Attribute::kRemoteIp},
    {"source.namespace", Attribute::kNamespace},
    {"source.principal", Attribute::kPrincipal},
    {"destination.ip", Attribute::kDestinationIp},
    {"destination.port", Attribute::kDestinationPort},
    {"connection.sni", Attribute::kSni},
    {"request.auth.principal", Attribute::kRequestPrincipal},
};

}  // namespace

bool FieldMatcher::init(Attribute attribute, bool negated,
                        const RepeatedPtrField<std::string>& values, const std::string& path,
                        config::Errors& errors, std::string header) {
  attribute_ = attribute;
  negated_ = negated;
  header_ = std::move(header);
  bool ok = true;
  ValueKind kind = valueKind(attribute);
  for (int i = 0; i < values.size(); ++i) {
    const std::string& value = values.Get(i);
    std::string value_path = path + "[" + std::to_string(i) + "]";
    if (value.empty()) {
      errors.add(value_path, "must not be empty");
      ok = false;
      continue;
    }
    switch (kind) {
      case ValueKind::kCidr:
        if (auto range = CidrRange::parse(value)) {
          cidrs_.push_back(*range);
        } else {
          errors.add(value_path, quoted(value) + " is not an IP address or CIDR range");
          ok = false;
        }
        break;
      case ValueKind::kPort:
        if (auto port = parsePort(value)) {
          ports_.push_back(*port);
        } else {
          errors.add(value_path, quoted(value) + " is not a port number (1-65535)");
          ok = false;
        }
        break;
      case ValueKind::kString: {
        std::string_view pattern = value;
        // Principals are compared without "spiffe://", on either side.
        if (attribute == Attribute::kPrincipal) pattern = stripSpiffe(pattern);
        if (pattern.empty()) {
          errors.add(value_path, quoted(value) + " names no identity");
          ok = false;
          break;
        }
        strings_.emplace_back(pattern, /*ignore_case=*/attribute == Attribute::kHost);
        break;
      }
    }
  }
  return ok;
}

bool FieldMatcher::matches(const AuthorizationRequest& request) const {
  return anyMatches(request) != negated_;
}

bool FieldMatcher::anyString(std::string_view value) const {
  return std::any_of(strings_.begin(), strings_.end(),
                     [value](const StringMatcher& m) { return m.matches(value); });
}

bool FieldMatcher::anyCidr(const IpAddress& address) const {
  if (!address.valid()) return false;
  return std::any_of(cidrs_.begin(), cidrs_.end(),
                     [&address](const CidrRange& r) { return r.contains(address); });
}

// False when the request lacks the attribute.
bool FieldMatcher::anyMatches(const AuthorizationRequest& request) const {
  if (isHttpOnly(attribute_) && !request.is_http) return false;
  switch (attribute_) {
    case Attribute::kPrincipal: {
      std::string_view principal = stripSpiffe(request.peer_principal);
      return !principal.empty() && anyString(principal);
    }
    case Attribute::kNamespace: {
      std::string_view ns = namespaceOf(stripSpiffe(request.peer_principal));
      return !ns.empty() && anyString(ns);
    }
    case Attribute::kSourceIp:
      return anyCidr(request.source_ip);
    case Attribute::kRemoteIp:
      return anyCidr(request.remote_ip ? *request.remote_ip : request.source_ip);
    case Attribute::kDestinationIp:
      return anyCidr(request.destination_ip);
    case Attribute::kDestinationPort:
      return request.destination_port != 0 &&
             std::find(ports_.begin(), ports_.end(), request.destination_port) != ports_.end();
    case Attribute::kSni:
      return !request.sni.empty() && anyString(request.sni);
    case Attribute::kRequestPrincipal:
      return !request.request_principal.empty() && anyString(request.request_principal);
    case Attribute::kHost: {
      if (request.host.empty()) return false;
      if (anyString(request.host)) return true;
      std::string_view name = hostWithoutPort(request.host);
      return name.size() != request.host.size() && anyString(name);
    }
    case Attribute::kMethod:
      return !request.method.empty() && anyString(request.method);
    case Attribute::kPath: {
      std::string_view path = pathWithoutQuery(request.path);
      return !path.empty() && anyString(path);
    }
    case Attribute::kHeader: {
      if (!request.headers) return false;
      std::optional<std::string_view> value = request.headers(header_);
      if (!value) return false;
      // "*" is a presence test for headers: an empty value is still present.
      return std::any_of(strings_.begin(), strings_.end(), [value](const StringMatcher& m) {
        return m.kind() == StringMatcher::Kind::kAny || m.matches(*value);
      });
    }
  }
  return false;
}

bool FieldSet::matches(const AuthorizationRequest& request, bool skip_http_only) const {
  for (const FieldMatcher& field : fields_) {
    if (skip_http_only && field.httpOnly()) continue;
    if (!field.matches(request)) return false;
  }
  return true;
}

bool FieldSet::httpOnly() const {
  return std::any_of(fields_.begin(), fields_.end(),
                     [](const FieldMatcher& f) { return f.httpOnly(); });
}

FieldSet compileSource(const config::rbac::v1::Source& proto, const std::string& path,
                       config::Errors& errors) {
  FieldSet set;
  addField(set, Attribute::kPrincipal, false, proto.principals(), path, "principals", errors);
  addField(set, Attribute::kPrincipal, true, proto.not_principals(), path, "not_principals",
           errors);
  addField(set, Attribute::kNamespace, false, proto.namespaces(), path, "namespaces", errors);
  addField(set, Attribute::kNamespace, true, proto.not_namespaces(), path, "not_namespaces",
           errors);
  addField(set, Attribute::kSourceIp, false, proto.ip_blocks(), path, "ip_blocks", errors);
  addField(set, Attribute::kSourceIp, true, proto.not_ip_blocks(), path, "not_ip_blocks", errors);
  addField(set, Attribute::kRemoteIp, false, proto.remote_ip_blocks(), path, "remote_ip_blocks",
           errors);
  addField(set, Attribute::kRemoteIp, true, proto.not_remote_ip_blocks(), path,
           "not_remote_ip_blocks", errors);
  addField(set, Attribute::kRequestPrincipal, false, proto.request_principals(), path,
           "request_principals", errors);
  addField(set, Attribute::kRequestPrincipal, true, proto.not_request_principals(), path,
           "not_request_principals", errors);
  return set;
}

FieldSet compileOperation(const config::rbac::v1::Operation& proto, const std::string& path,
                          config::Errors& errors) {
  FieldSet set;
  addField(set, Attribute::kHost, false, proto.hosts(), path, "hosts", errors);
  addField(set, Attribute::kHost, true, proto.not_hosts(), path, "not_hosts", errors);
  addField(set, Attribute::kDestinationPort, false, proto.ports(), path, "ports", errors);
  addField(set, Attribute::kDestinationPort, true, proto.not_ports(), path, "not_ports", errors);
  addField(set, Attribute::kMethod, false, proto.methods(), path, "methods", errors);
  addField(set, Attribute::kMethod, true, proto.not_methods(), path, "not_methods", errors);
  addField(set, Attribute::kPath, false, proto.paths(), path, "paths", errors);
  addField(set, Attribute::kPath, true, proto.not_paths(), path, "not_paths", errors);
  return set;
}

void compileCondition(const config::rbac::v1::Condition& proto, const std::string& path,
                      config::Errors& errors, FieldSet& into) {
  std::string_view key = proto.key();
  Attribute attribute = Attribute::kPrincipal;
  std::string header;
  constexpr std::string_view kHeaders = "request.headers[";
  auto known = std::find_if(std::begin(kConditionKeys), std::end(kConditionKeys),
                            [key](const ConditionKey& k) { return k.key == key; });
  if (key.empty()) {
    errors.add(path + ".key", "required");
    return;
  } else if (known != std::end(kConditionKeys)) {
    attribute = known->attribute;
  } else if (key.substr(0, kHeaders.size()) == kHeaders && key.back() == ']') {
    std::string_view name = key.substr(kHeaders.size(), key.size() - kHeaders.size() - 1);
    if (name.empty()) {
      errors.add(path + ".key", "no header name in " + quoted(key));
      return;
    }
    attribute = Attribute::kHeader;
    header = lowercase(name);
  } else {
    errors.add(path + ".key", "unsupported condition key " + quoted(key));
    return;
  }
  if (proto.values().empty() && proto.not_values().empty()) {
    errors.add(path, "needs values or not_values");
    return;
  }
  if (!proto.values().empty()) {
    FieldMatcher matcher;
    if (matcher.init(attribute, false, proto.values(), path + ".values", errors, header)) {
      into.fields().push_back(std::move(matcher));
    }
  }
  if (!proto.not_values().empty()) {
    FieldMatcher matcher;
    if (matcher.init(attribute, true, proto.not_values(), path + ".not_values", errors, header)) {
      into.fields().push_back(std::move(matcher));
    }
  }
}

RuleMatcher RuleMatcher::compile(const config::rbac::v1::Rule& proto, const std::string& path,
                                 config::Errors& errors) {
  RuleMatcher rule;
  for (int i = 0; i < proto.from_size(); ++i) {
    rule.from_.push_back(
        compileSource(proto.from(i), path + ".from[" + std::to_string(i) + "]", errors));
  }
  for (int i = 0; i < proto.to_size(); ++i) {
    rule.to_.push_back(
        compileOperation(proto.to(i), path + ".to[" + std::to_string(i) + "]", errors));
  }
  for (int i = 0; i < proto.when_size(); ++i) {
    compileCondition(proto.when(i), path + ".when[" + std::to_string(i) + "]", errors, rule.when_);
  }
  auto http = [](const FieldSet& set) { return set.httpOnly(); };
  rule.http_only_ = std::any_of(rule.from_.begin(), rule.from_.end(), http) ||
                    std::any_of(rule.to_.begin(), rule.to_.end(), http) || rule.when_.httpOnly();
  return rule;
}

bool RuleMatcher::matches(const AuthorizationRequest& request, bool conservative) const {
  bool skip_http_only = false;
  if (!request.is_http && http_only_) {
    // TCP: an ALLOW rule that needs HTTP attributes cannot match; DENY and AUDIT rules drop
    // those fields and match on the rest.
    if (!conservative) return false;
    skip_http_only = true;
  }
  auto matches = [&](const FieldSet& set) { return set.matches(request, skip_http_only); };
  if (!from_.empty() && std::none_of(from_.begin(), from_.end(), matches)) return false;
  if (!to_.empty() && std::none_of(to_.begin(), to_.end(), matches)) return false;
  return when_.matches(request, skip_http_only);
}

}  // namespace remora::rbac
