#include "source/pilot/security/policy_reader.h"

#include <algorithm>
#include <initializer_list>
#include <string_view>

#include "source/pilot/security/policy_values.h"
#include "source/pilot/yaml_view.h"

namespace remora::pilot::security {
namespace {

using config::rbac::v1::Condition;
using config::rbac::v1::Operation;
using config::rbac::v1::Policy;
using config::rbac::v1::Rule;
using config::rbac::v1::Source;
using google::protobuf::RepeatedPtrField;

// One list field of Istio's Source or Operation and where it goes in the proxy's message.
template <class Message>
struct ListField {
  std::string_view name;  // as Istio's YAML spells it
  RepeatedPtrField<std::string>* (*field)(Message&);
  ValueKind kind;
};

constexpr ListField<Source> kSourceFields[] = {
    {"principals", [](Source& s) { return s.mutable_principals(); }, ValueKind::kPrincipal},
    {"notPrincipals", [](Source& s) { return s.mutable_not_principals(); }, ValueKind::kPrincipal},
    {"requestPrincipals", [](Source& s) { return s.mutable_request_principals(); },
     ValueKind::kText},
    {"notRequestPrincipals", [](Source& s) { return s.mutable_not_request_principals(); },
     ValueKind::kText},
    {"namespaces", [](Source& s) { return s.mutable_namespaces(); }, ValueKind::kText},
    {"notNamespaces", [](Source& s) { return s.mutable_not_namespaces(); }, ValueKind::kText},
    {"ipBlocks", [](Source& s) { return s.mutable_ip_blocks(); }, ValueKind::kAddress},
    {"notIpBlocks", [](Source& s) { return s.mutable_not_ip_blocks(); }, ValueKind::kAddress},
    {"remoteIpBlocks", [](Source& s) { return s.mutable_remote_ip_blocks(); }, ValueKind::kAddress},
    {"notRemoteIpBlocks", [](Source& s) { return s.mutable_not_remote_ip_blocks(); },
     ValueKind::kAddress},
};

constexpr ListField<Operation> kOperationFields[] = {
    {"hosts", [](Operation& o) { return o.mutable_hosts(); }, ValueKind::kText},
    {"notHosts", [](Operation& o) { return o.mutable_not_hosts(); }, ValueKind::kText},
    {"ports", [](Operation& o) { return o.mutable_ports(); }, ValueKind::kPort},
    {"notPorts", [](Operation& o) { return o.mutable_not_ports(); }, ValueKind::kPort},
    {"methods", [](Operation& o) { return o.mutable_methods(); }, ValueKind::kText},
    {"notMethods", [](Operation& o) { return o.mutable_not_methods(); }, ValueKind::kText},
    {"paths", [](Operation& o) { return o.mutable_paths(); }, ValueKind::kPath},
    {"notPaths", [](Operation& o) { return o.mutable_not_paths(); }, ValueKind::kPath},
};

std::string indexed(const std::string& at, size_t i) { return at + "[" + std::to_string(i) + "]"; }

bool isScalar(const YamlView& node) { return node.isScalar(); }

class PolicyReader {
 public:
  PolicyReader(const Object& object, const std::string& trust_domain,
               std::vector<ManifestError>& errors)
      : object_(object), trust_domain_(trust_domain), errors_(errors) {}

  std::optional<ReadPolicy> read() {
    size_t errors_before = errors_.size();
    ReadPolicy out;
    // A dry-run policy is meant to be evaluated without effect; enforcing it would be wrong,
    // and leaving it out is what dry-run asks for, so say so.
    if (object_.view()["metadata"]["annotations"]["istio.io/dry-run"].str() == "true") {
      fail("metadata.annotations[istio.io/dry-run]",
           "dry-run is not supported (the policy is left out, not enforced)");
    }
    const YamlView spec = object_.view()["spec"];
    if (spec && !spec.isMap()) {
      fail("spec", "must be a map");
      return std::nullopt;
    }
    for (const auto& entry : spec) {
      std::string key = entry.first.str();
      if (key == "targetRef" || key == "targetRefs") {
        fail("spec." + key, "not supported (policies apply to workloads by spec.selector)");
      } else if (key == "provider") {
        fail("spec.provider", "not supported (only used by action CUSTOM)");
      } else if (key != "selector" && key != "action" && key != "rules") {
        fail("spec." + key, "unknown field");
      }
    }
    readSelector(spec["selector"], out.selector);
    readAction(spec["action"], out.policy);
    const YamlView rules = spec["rules"];
    readRules(rules, out.policy);
    // Istio refuses it too: people write it meaning "deny everything", which it does not.
    bool no_rules = !rules || (rules.isSequence() && rules.size() == 0);
    if (out.policy.action() == Policy::DENY && no_rules) {
      fail("spec.rules",
           "a DENY policy without rules never matches (write `rules: [{}]` to deny everything)");
    }
    if (errors_.size() != errors_before) return std::nullopt;
    return out;
  }

 private:
  void fail(const std::string& at, const std::string& message) {
    errors_.push_back({object_.where() + ": " + at + ": " + message});
  }

  // Reports the fields of map `node` that are not in `known`.
  void onlyFields(const YamlView& node, const std::string& at,
                  std::initializer_list<std::string_view> known) {
    for (const auto& entry : node) {
      std::string key = entry.first.str();
      if (std::find(known.begin(), known.end(), key) == known.end()) {
        fail(at + "." + key, "unknown field");
      }
    }
  }

  // Whether `node` is absent or a list; reported otherwise.
  bool list(const YamlView& node, const std::string& at) {
    if (node && !node.isSequence()) {
      fail(at, "must be a list");
      return false;
    }
    return true;
  }

  // A list of values of one kind, checked and converted into `out`.
  void values(const YamlView& node, const std::string& at, ValueKind kind,
              RepeatedPtrField<std::string>* out) {
    if (!list(node, at)) return;
    for (size_t i = 0; i < node.size(); ++i) {
      const YamlView item = node[i];
      if (!isScalar(item)) {
        fail(indexed(at, i), "must be a string");
        continue;
      }
      std::string value = item.str();
      if (auto why = invalidValue(kind, value)) {
        fail(indexed(at, i), *why);
        continue;
      }
      out->Add(proxyValue(kind, value, trust_domain_));
    }
  }

  void readSelector(const YamlView& selector, std::map<std::string, std::string>& out) {
    if (!selector) return;
    if (!selector.isMap()) {
      fail("spec.selector", "must be a map");
      return;
    }
    for (const auto& entry : selector) {
      std::string key = entry.first.str();
      if (key == "matchExpressions") {
        fail("spec.selector.matchExpressions", "not supported (only matchLabels)");
      } else if (key != "matchLabels") {
        fail("spec.selector." + key, "unknown field");
      }
    }
    const YamlView labels = selector["matchLabels"];
    if (labels && !labels.isMap()) {
      fail("spec.selector.matchLabels", "must be a map");
      return;
    }
    for (const auto& entry : labels) {
      std::string name = entry.first.str();
      if (!isScalar(entry.second)) {
        fail("spec.selector.matchLabels." + name, "must be a string");
        continue;
      }
      out[name] = entry.second.str();
    }
  }

  void readAction(const YamlView& action, Policy& policy) {
    if (!action) return;  // ALLOW, the default
    std::string name = action.str();
    if (name == "ALLOW") {
      policy.set_action(Policy::ALLOW);
    } else if (name == "DENY") {
      policy.set_action(Policy::DENY);
    } else if (name == "AUDIT") {
      policy.set_action(Policy::AUDIT);
    } else if (name == "CUSTOM") {
      fail("spec.action", "CUSTOM is not supported (no external authorization)");
    } else if (!isScalar(action)) {
      fail("spec.action", "must be a string (ALLOW, DENY, AUDIT)");
    } else {
      fail("spec.action", "unknown action \"" + name + "\" (ALLOW, DENY, AUDIT)");
    }
  }

  void readRules(const YamlView& rules, Policy& policy) {
    if (!list(rules, "spec.rules")) return;
    for (size_t i = 0; i < rules.size(); ++i) {
      std::string at = indexed("spec.rules", i);
      const YamlView rule = rules[i];
      Rule& out = *policy.add_rules();
      if (!rule.isMap()) {
        fail(at, "must be a map ({} matches every request)");
        continue;
      }
      onlyFields(rule, at, {"from", "to", "when"});
      readClauses(rule["from"], at + ".from", "source", kSourceFields, out.mutable_from());
      readClauses(rule["to"], at + ".to", "operation", kOperationFields, out.mutable_to());
      readConditions(rule["when"], at + ".when", out);
    }
  }

  // `from` or `to`: a list of {source: {...}} or {operation: {...}}. Empty forms are refused
  // as Istio does: an empty one would match everything, which is rarely what was meant.
  template <class Message, size_t N>
  void readClauses(const YamlView& clauses, const std::string& at, std::string_view inner,
                   const ListField<Message> (&fields)[N], RepeatedPtrField<Message>* out) {
    if (!clauses || !list(clauses, at)) return;
    if (clauses.size() == 0) {
      fail(at, "must not be empty (leave it out to match everything)");
      return;
    }
    for (size_t i = 0; i < clauses.size(); ++i) {
      std::string clause_at = indexed(at, i);
      const YamlView clause = clauses[i];
      if (!clause.isMap()) {
        fail(clause_at, "must be a map");
        continue;
      }
      onlyFields(clause, clause_at, {inner});
      std::string body_at = clause_at + "." + std::string(inner);
      const YamlView body = clause[std::string(inner)];
      if (!body) {
        fail(body_at, "required");
        continue;
      }
      if (!body.isMap()) {
        fail(body_at, "must be a map");
        continue;
      }
      size_t errors_before = errors_.size();
      for (const auto& entry : body) {
        std::string key = entry.first.str();
        if (std::none_of(std::begin(fields), std::end(fields),
                         [&key](const ListField<Message>& f) { return f.name == key; })) {
          fail(body_at + "." + key, "unknown field");
        }
      }
      Message& message = *out->Add();
      for (const ListField<Message>& field : fields) {
        values(body[std::string(field.name)], body_at + "." + std::string(field.name), field.kind,
               field.field(message));
      }
      if (errors_.size() == errors_before && message.ByteSizeLong() == 0) {
        fail(body_at, "must not be empty");
      }
    }
  }

  void readConditions(const YamlView& conditions, const std::string& at, Rule& rule) {
    if (!list(conditions, at)) return;
    for (size_t i = 0; i < conditions.size(); ++i) {
      std::string condition_at = indexed(at, i);
      const YamlView condition = conditions[i];
      if (!condition.isMap()) {
        fail(condition_at, "must be a map");
        continue;
      }
      size_t errors_before = errors_.size();
      onlyFields(condition, condition_at, {"key", "values", "notValues"});
      const YamlView key = condition["key"];
      if (key && !isScalar(key)) {
        fail(condition_at + ".key", "must be a string");
        continue;
      }
      ConditionKey parsed = conditionKey(key.str());
      if (!parsed.kind) {
        fail(condition_at + ".key", parsed.error);
        continue;
      }
      Condition& out = *rule.add_when();
      out.set_key(key.str());
      values(condition["values"], condition_at + ".values", *parsed.kind, out.mutable_values());
      values(condition["notValues"], condition_at + ".notValues", *parsed.kind,
             out.mutable_not_values());
      if (errors_.size() == errors_before && out.values().empty() && out.not_values().empty()) {
        fail(condition_at, "needs values or notValues");
      }
    }
  }

  const Object& object_;
  const std::string& trust_domain_;
  std::vector<ManifestError>& errors_;
};

}  // namespace

std::optional<ReadPolicy> readAuthorizationPolicy(const Object& object,
                                                  const std::string& trust_domain,
                                                  std::vector<ManifestError>& errors) {
  return PolicyReader(object, trust_domain, errors).read();
}

}  // namespace remora::pilot::security
