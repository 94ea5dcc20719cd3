#pragma once

// The values of an AuthorizationPolicy's fields and conditions: how each kind is checked and
// what the proxy gets. The checks are the proxy engine's (source/common/rbac/policy_matcher.cc),
// repeated here because pilot cannot link the engine, so that a policy pilot accepts is never
// NACKed by the proxy.

#include <optional>
#include <string>

namespace remora::pilot::security {

enum class ValueKind {
  // Any non-empty string: namespaces, hosts, methods, request principals, header values.
  kText,
  // A workload identity ("cluster.local/ns/default/sa/productpage", "*" wildcards).
  kPrincipal,
  // An IPv4 or IPv6 address or CIDR range.
  kAddress,
  // A destination port, decimal 1-65535.
  kPort,
  // A request path ("/reviews/*"); Istio's path templates ({*}, {**}) are not supported.
  kPath,
};

// Why `value` is not a valid value of that kind; nullopt when it is.
std::optional<std::string> invalidValue(ValueKind kind, const std::string& value);

// `value` as the proxy should get it. Principals lose an optional "spiffe://", and Istio's
// default trust domain name "cluster.local" stands for the mesh's `trust_domain` (as Istio's
// trust domain handling does); a principal starting with "*" names no trust domain and is
// kept. Everything else is unchanged.
std::string proxyValue(ValueKind kind, const std::string& value, const std::string& trust_domain);

// The kind of a `when` key's values, or why the key is refused.
struct ConditionKey {
  std::optional<ValueKind> kind;
  std::string error;
};
ConditionKey conditionKey(const std::string& key);

}  // namespace remora::pilot::security
