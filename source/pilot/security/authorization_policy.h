#pragma once

// Istio AuthorizationPolicy objects (security.istio.io/v1beta1 and v1) -> the proxy's
// authorization config (remora.config.rbac.v1.Rbac) for one workload, which the proxy's RBAC
// filters evaluate with Istio's semantics (DENY first, then ALLOW if any; AUDIT only reports).
//
// Every policy is read once, strictly, when this is built: an unknown field or a value of the
// wrong type under `spec` is an error naming its path, values are checked as the proxy will
// check them, and what the proxy cannot enforce (action CUSTOM, targetRef(s), selector
// matchExpressions, `when` keys it does not know, dry-run) is refused. A policy with any error
// is reported and left out; the others are kept.
//
// Which policies apply to a workload, as in Istio: those in the root namespace and those in the
// workload's own namespace whose selector is absent or whose matchLabels are all among the
// workload's labels. A root-namespace policy without selector therefore applies to the whole
// mesh, one with a selector to the matching workloads of every namespace.

#include <map>
#include <string>
#include <vector>

#include "remora/config/rbac/v1/rbac.pb.h"
#include "source/pilot/manifests.h"

namespace remora::pilot {

class AuthorizationPolicies {
 public:
  // Reads the AuthorizationPolicy objects among `objects`. Other kinds are ignored, and so are
  // objects of that kind from another API group (e.g. Linkerd's policy.linkerd.io); one
  // without apiVersion is taken as Istio's. Keeps no reference to `objects` or their YAML.
  //
  // `root_namespace`: Istio's mesh-wide rootNamespace. `trust_domain`: the mesh's; a principal
  // written with Istio's default trust domain ("cluster.local/ns/default/sa/x") stands for it,
  // as in Istio.
  //
  // `previous` (the policies of the last translation, may be null): a policy that is invalid
  // now keeps its last good version from there, so a broken edit never widens access (a
  // broken DENY would deny nothing, a broken sole ALLOW would stop restricting). A policy that
  // was never valid is left out.
  explicit AuthorizationPolicies(const std::vector<Object>& objects,
                                 std::string root_namespace = "istio-system",
                                 std::string trust_domain = "cluster.local",
                                 const AuthorizationPolicies* previous = nullptr);

  // The policies left out, each with the reason:
  // "authz.yaml: AuthorizationPolicy default/reviews: spec.rules[0].to[0].operation.methodz:
  // unknown field".
  const std::vector<ManifestError>& errors() const { return errors_; }

  // The policies that apply to a pod in namespace `ns` with labels `pod_labels`: those of the
  // root namespace first, then those of `ns`, each group by name. A policy is named
  // "<namespace>/<name>" (its name in the proxy's logs and metrics, see rbac.proto). No policy
  // (an empty Rbac) means everything is allowed.
  //
  // Const and reads no YAML (everything was translated by the constructor), so it may be called
  // from several threads at once.
  config::rbac::v1::Rbac forWorkload(const std::string& ns,
                                     const std::map<std::string, std::string>& pod_labels) const;

  // The proxy's name of a policy: "<namespace>/<name>".
  static std::string policyName(const std::string& ns, const std::string& name);

 private:
  struct Translated {
    // matchLabels; empty: the whole namespace (or, in the root namespace, the mesh).
    std::map<std::string, std::string> selector;
    config::rbac::v1::Policy policy;
  };

  const Translated* find(const std::string& ns, const std::string& name) const;

  std::string root_namespace_;
  std::string trust_domain_;
  std::vector<ManifestError> errors_;
  // By namespace, then by name.
  std::map<std::string, std::map<std::string, Translated>> by_namespace_;
};

}  // namespace remora::pilot
