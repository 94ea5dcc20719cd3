#pragma once

// Reads one AuthorizationPolicy object, strictly, into the proxy's Policy: every field under
// `spec` is known and of the right type, every value valid, and nothing is set that the proxy
// would not enforce. Internal to the authorization_policy library.

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "remora/config/rbac/v1/rbac.pb.h"
#include "source/pilot/manifests.h"

namespace remora::pilot::security {

struct ReadPolicy {
  // Action and rules; the name is the caller's to set.
  config::rbac::v1::Policy policy;
  // spec.selector.matchLabels; empty: every workload in the policy's namespace (or, in the root
  // namespace, the mesh).
  std::map<std::string, std::string> selector;
};

// Nullopt when the object is invalid, with every problem found appended to `errors`
// ("<file>: AuthorizationPolicy <ns>/<name>: <field path>: <reason>"). `trust_domain`: the
// mesh's, for principals written with Istio's default "cluster.local".
std::optional<ReadPolicy> readAuthorizationPolicy(const Object& object,
                                                  const std::string& trust_domain,
                                                  std::vector<ManifestError>& errors);

}  // namespace remora::pilot::security
