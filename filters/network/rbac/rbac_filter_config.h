#pragma once

// What the RBAC network filter and the RBAC HTTP filter share: the policies compiled into one
// engine and the decision counters, both made once per filter config on the main thread and
// immutable afterwards, so every worker's filter instances use the same object without locks.
//
// Counted in remora_rbac_decisions_total{filter, stat_prefix, policy, decision}: each decision
// once as "allowed" or "denied" (policy: the DENY or ALLOW policy that decided, empty when none
// did), plus once as "audited" for each AUDIT policy that matched (policy: its name). Every
// series a config can produce is made up front, so the request path only increments.

#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "remora/extensions/filters/rbac/v1/rbac.pb.h"
#include "source/common/rbac/authorization_request.h"
#include "source/common/rbac/engine.h"
#include "source/interface/config/errors.h"
#include "source/interface/network/connection.h"
#include "source/interface/stats/stats.h"

namespace remora::filters::rbac {

using ProtoConfig = extensions::filters::rbac::v1::RBAC;

class RbacFilterConfig {
 public:
  // Which filter the config serves: the `filter` label, and whether forward_principal_header
  // is allowed (HTTP only).
  enum class Kind { kNetwork, kHttp };

  // Validates `proto` and compiles its policies. Null, with errors under `path` (the filter's
  // typed_config, e.g. "...filters[0].typed_config.rules.policies[1].name: required"), when it
  // is invalid. `default_stat_prefix` labels the counters when stat_prefix is empty (the
  // listener's name). Main thread only.
  static std::shared_ptr<const RbacFilterConfig> create(const ProtoConfig& proto, Kind kind,
                                                        const std::string& path,
                                                        const std::string& default_stat_prefix,
                                                        stats::Store& store,
                                                        config::Errors& errors);

  // Decides `request` and counts the decision. Any thread; never locks. The decision's views
  // point into this config.
  remora::rbac::Decision authorize(const remora::rbac::AuthorizationRequest& request) const;

  const std::string& statPrefix() const { return stat_prefix_; }
  // The header (lowercase) that carries the peer's identity to the application; empty: none.
  const std::string& forwardPrincipalHeader() const { return forward_principal_header_; }

 private:
  struct PolicyCounters {
    stats::Counter* allowed = nullptr;
    stats::Counter* denied = nullptr;
    stats::Counter* audited = nullptr;
  };

  RbacFilterConfig() = default;
  const PolicyCounters* countersFor(std::string_view policy) const;

  std::unique_ptr<remora::rbac::Engine> engine_;
  std::string stat_prefix_;
  std::string forward_principal_header_;
  // By policy name; "" for decisions no policy made.
  std::map<std::string, PolicyCounters, std::less<>> counters_;
};

// Fills the connection's part of `request`: the peer's SPIFFE ID (empty without a verified
// client certificate, e.g. plaintext), its address, the destination (the local address, which
// the original_dst listener filter restores for redirected connections) and the SNI. The
// request's views point into `connection`, which must outlive its use.
void addConnectionAttributes(const network::Connection& connection,
                             remora::rbac::AuthorizationRequest& request);

}  // namespace remora::filters::rbac
