#include "source/pilot/analyze/reference_checks.h"

#include <algorithm>

namespace remora::pilot::analyze {
namespace {

Finding findingOf(const Object& object, Finding::Severity severity, const char* code,
                  std::string message) {
  Finding f;
  f.severity = severity;
  f.code = code;
  f.kind = object.kind;
  f.ns = object.ns;
  f.name = object.name;
  f.file = object.file;
  f.message = std::move(message);
  return f;
}

std::string quoted(const std::string& text) { return "\"" + text + "\""; }

// "\"ratings\" (ratings.default.svc.cluster.local)": the name as written, and what it resolves
// to when that differs.
std::string hostText(const std::string& host, const std::string& fqdn) {
  return quoted(host) + (fqdn == host ? "" : " (" + fqdn + ")");
}

// "app=reviews,version=v4"
std::string labelText(const Labels& labels) {
  std::string out;
  for (const auto& [key, value] : labels) out += (out.empty() ? "" : ",") + key + "=" + value;
  return out;
}

bool definesSubset(const Object& rule, const std::string& subset) {
  for (const auto& s : rule.view()["spec"]["subsets"]) {
    if (s["name"].str() == subset) return true;
  }
  return false;
}

// One route or mirror destination of a VirtualService, at `at`.
void checkDestination(const Object& vs, const YamlView& destination, const std::string& at,
                      const MeshIndex& index, std::vector<Finding>& out) {
  const std::string host = destination["host"].str();
  if (host.empty()) return;  // the translator's checks report it
  const std::string fqdn = index.fqdnOf(host, vs.ns);
  const MeshIndex::Host* target = index.find(fqdn);
  if (!target) {
    out.push_back(findingOf(
        vs, Finding::Severity::kError, code::kReferencedResourceNotFound,
        at + ".host: host " + hostText(host, fqdn) + " is not a Service or ServiceEntry host"));
    return;
  }
  uint32_t port = 0;
  try {
    port = destination["port"]["number"] ? destination["port"]["number"].as<uint32_t>() : 0;
  } catch (const YAML::Exception&) {
    // A port that is not a number is the schema's error.
  }
  if (port != 0 && !target->ports.empty() && !target->ports.count(port)) {
    out.push_back(findingOf(vs, Finding::Severity::kError, code::kReferencedResourceNotFound,
                            at + ".port.number: " + fqdn + " has no port " + std::to_string(port)));
  }
  const std::string subset = destination["subset"].str();
  if (subset.empty()) return;
  std::vector<const Object*> rules = index.rulesFor(fqdn);
  if (std::none_of(rules.begin(), rules.end(),
                   [&](const Object* rule) { return definesSubset(*rule, subset); })) {
    out.push_back(findingOf(
        vs, Finding::Severity::kError, code::kReferencedResourceNotFound,
        at + ".subset: no DestinationRule for " + fqdn + " defines subset " + quoted(subset)));
  }
}

void checkVirtualService(const Object& vs, const MeshIndex& index, std::vector<Finding>& out) {
  const YamlView spec = vs.view()["spec"];
  for (size_t i = 0; i < spec["hosts"].size(); ++i) {
    const std::string host = spec["hosts"][i].str();
    if (host.empty() || index.anyHostMatches(host, vs.ns)) continue;
    out.push_back(findingOf(vs, Finding::Severity::kWarning, code::kVirtualServiceHostNotFound,
                            "spec.hosts[" + std::to_string(i) + "]: " + quoted(host) +
                                " matches no Service or ServiceEntry host; these routes apply "
                                "to no traffic"));
  }
  for (size_t h = 0; h < spec["http"].size(); ++h) {
    const std::string at = "spec.http[" + std::to_string(h) + "]";
    const YamlView http = spec["http"][h];
    for (size_t r = 0; r < http["route"].size(); ++r) {
      checkDestination(vs, http["route"][r]["destination"],
                       at + ".route[" + std::to_string(r) + "].destination", index, out);
    }
    if (http["mirror"]) checkDestination(vs, http["mirror"], at + ".mirror", index, out);
  }
}

void checkDestinationRule(const Object& rule, const MeshIndex& index, std::vector<Finding>& out) {
  const YamlView spec = rule.view()["spec"];
  const std::string host = spec["host"].str();
  if (host.empty()) return;
  if (!index.anyHostMatches(host, rule.ns)) {
    out.push_back(findingOf(rule, Finding::Severity::kWarning, code::kDestinationRuleHostNotFound,
                            "spec.host: " + hostText(host, index.fqdnOf(host, rule.ns)) +
                                " is not a Service or ServiceEntry host; the rule applies to "
                                "nothing"));
    return;
  }
  const MeshIndex::Host* target = index.find(index.fqdnOf(host, rule.ns));
  if (!target) return;  // a wildcard host
  for (size_t i = 0; i < spec["subsets"].size(); ++i) {
    const YamlView subset = spec["subsets"][i];
    Labels labels = MeshIndex::labelsOf(subset["labels"]);
    bool selected = false;
    if (target->service_entry) {
      // A ServiceEntry without endpoints resolves by DNS: its subsets cannot be checked.
      selected =
          target->entry_endpoint_labels.empty() ||
          std::any_of(target->entry_endpoint_labels.begin(), target->entry_endpoint_labels.end(),
                      [&](const Labels& l) { return MeshIndex::selects(labels, l); });
    } else {
      for (const MeshIndex::Pod* pod : index.podsOf(*target)) {
        selected = selected || MeshIndex::selects(labels, pod->labels);
      }
    }
    if (selected) continue;
    out.push_back(findingOf(
        rule, Finding::Severity::kWarning, code::kDestinationRuleSubsetNotSelectPods,
        "spec.subsets[" + std::to_string(i) + "]: subset " + quoted(subset["name"].str()) + " (" +
            labelText(labels) + ") selects no pod of " + target->fqdn +
            "; requests routed to it fail with 503"));
  }
}

void checkSelector(const Object& object, const YamlView& selector, const std::string& field,
                   const MeshIndex& index, const std::string& root_namespace,
                   std::vector<Finding>& out) {
  Labels labels = MeshIndex::labelsOf(selector);
  if (labels.empty()) return;
  // In the root namespace a selector picks workloads of every namespace.
  const std::string scope = object.ns == root_namespace ? "" : object.ns;
  if (!index.podsSelected(scope, labels).empty()) return;
  out.push_back(findingOf(object, Finding::Severity::kWarning, code::kNoMatchingWorkloadsFound,
                          field + ": selects no pod (" + labelText(labels) + ") " +
                              (scope.empty() ? "in any namespace" : "in namespace " + scope) +
                              "; the object applies to no workload"));
}

}  // namespace

std::vector<Finding> checkReferences(const std::vector<Object>& objects, const MeshIndex& index,
                                     const std::string& root_namespace) {
  std::vector<Finding> out;
  for (const Object& object : objects) {
    const YamlView spec = object.view()["spec"];
    if (object.kind == "VirtualService") {
      checkVirtualService(object, index, out);
    } else if (object.kind == "DestinationRule") {
      checkDestinationRule(object, index, out);
    } else if (object.kind == "AuthorizationPolicy" || object.kind == "PeerAuthentication") {
      checkSelector(object, spec["selector"]["matchLabels"], "spec.selector.matchLabels", index,
                    root_namespace, out);
    } else if (object.kind == "Sidecar") {
      checkSelector(object, spec["workloadSelector"]["labels"], "spec.workloadSelector.labels",
                    index, root_namespace, out);
    }
  }
  return out;
}

}  // namespace remora::pilot::analyze
