#pragma once

// The authorization policy engine: Istio AuthorizationPolicy semantics over a compiled Rbac
// config. Built once per config and immutable afterwards, so one engine is shared by every
// worker; evaluate() does not allocate (except to list matching AUDIT policies).
//
// Decision order:
//   1. a matching DENY policy denies (the first, in config order, is reported);
//   2. matching AUDIT policies are listed, whatever the decision;
//   3. with any ALLOW policy, the request is allowed only if one matches (the first is
//      reported), else denied with "no ALLOW policy matched";
//   4. with no ALLOW policy, allowed.
//
// TCP connections (AuthorizationRequest::is_http false): rules using HTTP-only fields (hosts,
// methods, paths, request_principals, request.* conditions) never match in ALLOW policies,
// and match as if those fields were absent in DENY and AUDIT policies. So DENY `to: [{methods:
// [POST]}]` denies every TCP connection it reaches, as in Istio: an unknowable attribute never
// lets traffic through.

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "remora/config/rbac/v1/rbac.pb.h"
#include "source/common/rbac/authorization_request.h"
#include "source/common/rbac/policy_matcher.h"
#include "source/interface/config/errors.h"

namespace remora::rbac {

// The outcome of one evaluation. The views point into the engine, which must outlive them.
struct Decision {
  bool allowed = true;
  // The policy that decided: the DENY that matched, or the ALLOW that matched. Empty when no
  // policy matched (allowed for lack of ALLOW policies, or denied for lack of a matching one).
  std::string_view policy;
  // Every AUDIT policy that matched, in config order.
  std::vector<std::string_view> audited;
  // A short explanation for logs, e.g. "denied by DENY policy" or "no ALLOW policy matched".
  std::string_view reason;
};

class Engine {
 public:
  // Null (with errors under `path`, e.g. "policies[1].rules[0].from[0].ip_blocks[2]") when the
  // config is invalid.
  static std::unique_ptr<Engine> create(const config::rbac::v1::Rbac& proto,
                                        const std::string& path, config::Errors& errors);

  Decision evaluate(const AuthorizationRequest& request) const;

  size_t policyCount() const { return deny_.size() + audit_.size() + allow_.size(); }
  bool hasAllowPolicies() const { return !allow_.empty(); }

 private:
  struct Policy {
    std::string name;
    std::vector<RuleMatcher> rules;
    // Any rule matches; a policy without rules matches nothing.
    bool matches(const AuthorizationRequest& request, bool conservative) const;
  };

  Engine() = default;

  std::vector<Policy> deny_;
  std::vector<Policy> audit_;
  std::vector<Policy> allow_;
};

}  // namespace remora::rbac
