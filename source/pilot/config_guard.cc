#include "source/pilot/config_guard.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <utility>

#include "source/pilot/config_schema.h"
#include "source/pilot/document/document_from_yaml.h"
#include "source/pilot/security/policy_reader.h"
#include "source/pilot/translator.h"

namespace remora::pilot {
namespace {

std::string keyOf(const Object& object) {
  return object.kind + "/" + object.ns + "/" + object.name;
}

ConfigIssue issueOf(const Object& object, ConfigIssue::Severity severity, std::string field,
                    std::string reason, std::string message) {
  ConfigIssue issue;
  issue.severity = severity;
  issue.kind = object.kind;
  issue.ns = object.ns;
  issue.name = object.name;
  issue.file = object.file;
  issue.field = std::move(field);
  issue.reason = std::move(reason);
  issue.message = std::move(message);
  return issue;
}

// The object is of an Istio kind (by apiVersion; without one, a kind of that name is taken as
// Istio's, as the translator does).
bool istioApi(const Object& object) {
  std::string api = object.view()["apiVersion"].str();
  return api.empty() || api.find(".istio.io/") != std::string::npos;
}

bool securityKind(const std::string& kind) {
  return kind == "AuthorizationPolicy" || kind == "PeerAuthentication";
}

// spec.selector.matchLabels when it reads as name: value pairs; absent otherwise.
YAML::Node readableSelector(const Object& object) {
  YamlView labels = object.view()["spec"]["selector"]["matchLabels"];
  if (!labels.isMap() || labels.size() == 0) return YAML::Node();
  YAML::Node out(YAML::NodeType::Map);
  for (const auto& entry : labels) {
    if (!entry.first.isScalar() || !entry.second.isScalar()) return YAML::Node();
    out[entry.first.str()] = entry.second.str();
  }
  return out;
}

}  // namespace

Object ConfigGuard::strictestReading(const Object& rejected) {
  Object out;
  if (!securityKind(rejected.kind)) return out;
  YAML::Node doc(YAML::NodeType::Map);
  doc["apiVersion"] = "security.istio.io/v1";
  doc["kind"] = rejected.kind;
  doc["metadata"]["name"] = rejected.name;
  doc["metadata"]["namespace"] = rejected.ns;
  YAML::Node spec(YAML::NodeType::Map);
  if (YAML::Node selector = readableSelector(rejected)) spec["selector"]["matchLabels"] = selector;
  if (rejected.kind == "PeerAuthentication") {
    spec["mtls"]["mode"] = "STRICT";
  } else {
    std::string action = rejected.view()["spec"]["action"].str();
    // An audit policy never allowed or denied anything: leaving it out changes no access.
    if (action == "AUDIT") return out;
    if (action == "DENY") {
      spec["action"] = "DENY";
      spec["rules"].push_back(YAML::Node(YAML::NodeType::Map));  // matches every request
    } else {
      spec["action"] = "ALLOW";  // with no rules: allows nothing
    }
  }
  doc["spec"] = spec;
  Object stand_in;
  stand_in.file = rejected.file;
  stand_in.file_mtime_ns = rejected.file_mtime_ns;
  stand_in.kind = rejected.kind;
  stand_in.ns = rejected.ns;
  stand_in.name = rejected.name;
  stand_in.document = documentFromYaml(doc);
  stand_in.revision = stand_in.document->contentHash();
  return stand_in;
}

std::vector<ConfigIssue> ConfigGuard::problemsOf(const Object& object) const {
  std::vector<ConfigIssue> out;
  if (object.unreadable) {
    out.push_back(issueOf(object, ConfigIssue::Severity::kError, "", "parse_error",
                          "its document is not valid YAML"));
    return out;
  }
  for (const auto& problem : schema::check(object.kind, object.view())) {
    out.push_back(issueOf(object, ConfigIssue::Severity::kError, problem.field, problem.reason,
                          problem.message));
  }
  // The security readers' own checks (values, versions): a policy they would leave out must
  // not get past here, or its strictest reading would not apply.
  if (!out.empty() || !securityKind(object.kind)) return out;
  std::vector<ManifestError> errors;
  bool readable = false;
  try {
    Translator::PeerAuthentication unused;
    readable = object.kind == "AuthorizationPolicy"
                   ? security::readAuthorizationPolicy(object, trust_domain_, errors).has_value()
                   : Translator::parsePeerAuthentication(object, unused, &errors);
  } catch (const YAML::Exception& e) {
    errors.push_back({object.where() + ": (object): malformed: " + e.what()});
  }
  if (readable) return out;
  std::string prefix = object.where() + ": ";
  for (const auto& e : errors) {
    std::string text =
        e.message.rfind(prefix, 0) == 0 ? e.message.substr(prefix.size()) : e.message;
    size_t colon = text.find(": ");
    std::string field = colon == std::string::npos ? "" : text.substr(0, colon);
    std::string message = colon == std::string::npos ? text : text.substr(colon + 2);
    std::string reason = message == "unknown field" ? "unknown_field" : "invalid";
    out.push_back(
        issueOf(object, ConfigIssue::Severity::kError, field, reason, std::move(message)));
  }
  if (out.empty())
    out.push_back(issueOf(object, ConfigIssue::Severity::kError, "", "invalid", "cannot be read"));
  return out;
}

ConfigGuard::Admitted ConfigGuard::admit(std::vector<Object> objects) {
  Admitted out;
  // Oldest file first, then path: the first definition of each object wins. Sorted by
  // pointer: cheaper than moving Objects.
  std::vector<const Object*> sorted;
  for (const Object& object : objects) sorted.push_back(&object);
  std::stable_sort(sorted.begin(), sorted.end(), [](const Object* a, const Object* b) {
    return a->file_mtime_ns != b->file_mtime_ns ? a->file_mtime_ns < b->file_mtime_ns
                                                : a->file < b->file;
  });
  std::unordered_map<std::string, const Object*> winners;
  winners.reserve(sorted.size());
  std::vector<const Object*> order;
  for (const Object* candidate : sorted) {
    const Object& object = *candidate;
    bool known = schema::knownKind(object.kind);
    if (known && !istioApi(object) && schema::istioKind(object.kind)) {
      continue;  // another API group's kind of that name (Linkerd's AuthorizationPolicy)
    }
    if (!known) {
      if (istioApi(object) && !object.view()["apiVersion"].str().empty()) {
        out.issues.push_back(issueOf(
            object, ConfigIssue::Severity::kWarning, "", "unsupported_kind",
            "kind " + object.kind + " is not supported by remora-pilot; the object is ignored"));
      }
      continue;
    }
    auto [it, inserted] = winners.emplace(keyOf(object), &object);
    if (!inserted) {
      out.issues.push_back(issueOf(object, ConfigIssue::Severity::kWarning, "", "duplicate",
                                   "defined again (the definition in " + it->second->file +
                                       ", the older file, is used); this one is ignored"));
      continue;
    }
    order.push_back(&object);
  }
  std::unordered_map<std::string, Object> good;
  good.reserve(order.size());
  out.objects.reserve(order.size());
  std::unordered_map<std::string, Verdict> verdicts;
  for (const Object* object : order) {
    std::string key = keyOf(*object);
    std::vector<ConfigIssue> problems;
    // Moved over, not copied: at 70,000 objects the copies were most of a reload's checks.
    auto known = verdicts_.extract(key);
    if (!object->revision.empty() && known && known.mapped().revision == object->revision &&
        known.mapped().file == object->file) {
      problems = known.mapped().problems;
      verdicts.insert(std::move(known));
    } else {
      problems = problemsOf(*object);
      if (!object->revision.empty()) {
        verdicts.emplace(key, Verdict{object->revision, object->file, problems});
      }
    }
    if (problems.empty()) {
      auto kept = last_good_.extract(key);
      if (kept && kept.mapped().document == object->document &&
          kept.mapped().file == object->file && kept.mapped().revision == object->revision) {
        good.insert(std::move(kept));
      } else {
        good.emplace(key, *object);
      }
      out.objects.push_back(*object);
      continue;
    }
    std::string outcome;
    if (auto last = last_good_.find(key); last != last_good_.end()) {
      good.emplace(key, last->second);
      out.objects.push_back(last->second);
      outcome = "rejected; its last good version stays in force";
    } else if (Object stand_in = strictestReading(*object); !stand_in.kind.empty()) {
      out.objects.push_back(stand_in);
      outcome = object->kind == "PeerAuthentication"
                    ? "rejected; no good version yet, so STRICT applies to its workloads"
                    : "rejected; no good version yet, so its workloads are denied everything";
    } else {
      outcome = "rejected; no good version yet, so it is left out";
    }
    out.issues.insert(out.issues.end(), problems.begin(), problems.end());
    out.issues.push_back(
        issueOf(*object, ConfigIssue::Severity::kError, "", "rejected", std::move(outcome)));
  }
  last_good_ = std::move(good);
  verdicts_ = std::move(verdicts);
  return out;
}

}  // namespace remora::pilot
