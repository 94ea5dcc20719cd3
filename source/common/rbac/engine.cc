#include "source/common/rbac/engine.h"

#include <algorithm>
#include <set>

namespace remora::rbac {
namespace {

using PolicyProto = config::rbac::v1::Policy;

constexpr std::string_view kDenied = "denied by DENY policy";
constexpr std::string_view kAllowed = "allowed by ALLOW policy";
constexpr std::string_view kNoAllowMatched = "no ALLOW policy matched";
constexpr std::string_view kNoAllowPolicies = "no ALLOW policies";

std::string join(const std::string& path, std::string_view field) {
  return path.empty() ? std::string(field) : path + "." + std::string(field);
}

}  // namespace

bool Engine::Policy::matches(const AuthorizationRequest& request, bool conservative) const {
  return std::any_of(rules.begin(), rules.end(),
                     [&](const RuleMatcher& rule) { return rule.matches(request, conservative); });
}

std::unique_ptr<Engine> Engine::create(const config::rbac::v1::Rbac& proto, const std::string& path,
                                       config::Errors& errors) {
  size_t errors_before = errors.lines().size();
  std::unique_ptr<Engine> engine(new Engine());
  std::set<std::string_view> names;
  for (int i = 0; i < proto.policies_size(); ++i) {
    const auto& policy_proto = proto.policies(i);
    std::string policy_path = join(path, "policies[" + std::to_string(i) + "]");
    if (policy_proto.name().empty()) {
      errors.add(policy_path + ".name", "required");
    } else if (!names.insert(policy_proto.name()).second) {
      errors.add(policy_path + ".name", "duplicate policy name \"" + policy_proto.name() + "\"");
    }
    Engine::Policy policy;
    policy.name = policy_proto.name();
    for (int r = 0; r < policy_proto.rules_size(); ++r) {
      policy.rules.push_back(RuleMatcher::compile(
          policy_proto.rules(r), policy_path + ".rules[" + std::to_string(r) + "]", errors));
    }
    switch (policy_proto.action()) {
      case PolicyProto::ALLOW:
        engine->allow_.push_back(std::move(policy));
        break;
      case PolicyProto::DENY:
        engine->deny_.push_back(std::move(policy));
        break;
      case PolicyProto::AUDIT:
        engine->audit_.push_back(std::move(policy));
        break;
      default:
        errors.add(policy_path + ".action",
                   "unknown action " + std::to_string(static_cast<int>(policy_proto.action())));
        break;
    }
  }
  if (errors.lines().size() != errors_before) return nullptr;
  return engine;
}

Decision Engine::evaluate(const AuthorizationRequest& request) const {
  Decision decision;
  // AUDIT first so that it is reported whatever the decision. Like DENY, it is matched
  // conservatively on TCP (Istio widens the audit scope rather than narrowing it).
  for (const Policy& policy : audit_) {
    if (policy.matches(request, /*conservative=*/true)) decision.audited.push_back(policy.name);
  }
  for (const Policy& policy : deny_) {
    if (policy.matches(request, /*conservative=*/true)) {
      decision.allowed = false;
      decision.policy = policy.name;
      decision.reason = kDenied;
      return decision;
    }
  }
  if (allow_.empty()) {
    decision.reason = kNoAllowPolicies;
    return decision;
  }
  for (const Policy& policy : allow_) {
    if (policy.matches(request, /*conservative=*/false)) {
      decision.policy = policy.name;
      decision.reason = kAllowed;
      return decision;
    }
  }
  decision.allowed = false;
  decision.reason = kNoAllowMatched;
  return decision;
}

}  // namespace remora::rbac
