#pragma once

// Fail closed: what stands between a config source and the translator, so that no input can
// weaken the mesh.
//
// Of the objects a source holds:
// - kinds of Istio's API groups that pilot does not implement (Gateway, RequestAuthentication,
//   EnvoyFilter...) are reported as not supported (a warning) and left out; other API groups'
//   kinds (Deployments...) are not pilot's and are left out silently;
// - two definitions of one object (kind, namespace, name) are reported; the one from the
//   oldest file wins (modification time, then path), whatever the read order;
// - every object is checked against its kind's schema (config_schema.h), and an
//   AuthorizationPolicy also by the strict policy reader; an object with any problem is
//   rejected whole. In its place the last good version admitted by this guard stays in force;
//   without one, a security object gets its strictest reading: an AuthorizationPolicy allows
//   nothing to the workloads it selects (ALLOW with no rules, or DENY of everything), a
//   PeerAuthentication is STRICT for its scope. Its selector, when it cannot be read, is taken
//   as absent (the whole namespace): stricter, never wider. Other rejected objects are left out.
// An object no longer in the source is gone (a deletion is not a failure).

#include <map>
#include <unordered_map>
#include <string>
#include <vector>

#include "source/pilot/config_issues.h"
#include "source/pilot/manifests.h"

namespace remora::pilot {

class ConfigGuard {
 public:
  struct Admitted {
    std::vector<Object> objects;  // for the translator
    std::vector<ConfigIssue> issues;
  };

  // `trust_domain`: the mesh's, as the policy reader needs it.
  explicit ConfigGuard(std::string trust_domain = "cluster.local")
      : trust_domain_(std::move(trust_domain)) {}

  // Admits the source's current objects, remembering the good ones for next time.
  Admitted admit(std::vector<Object> objects);

  // The stand-in for a security object rejected without a last good version (nullopt-like:
  // an object with an empty kind for other kinds). Public for tests.
  static Object strictestReading(const Object& rejected);

 private:
  // The problems of one object (empty: admitted).
  std::vector<ConfigIssue> problemsOf(const Object& object) const;

  std::string trust_domain_;
  std::unordered_map<std::string, Object> last_good_;  // "kind/namespace/name"
  // The problems found in each object at its revision (objects with one): an unchanged
  // object is not checked again.
  struct Verdict {
    std::string revision;
    std::string file;  // the problems name it
    std::vector<ConfigIssue> problems;
  };
  std::unordered_map<std::string, Verdict> verdicts_;
};

}  // namespace remora::pilot
