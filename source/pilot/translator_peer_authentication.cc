// PeerAuthentication (security.istio.io/v1beta1 and v1): which inbound connections a pod's
// sidecar takes as mutual TLS. Policies are read and checked here; the mode in force for a
// pod's port goes port-level > workload (selector) > namespace > mesh (root namespace) >
// PERMISSIVE, where UNSET defers to the next level and, when several policies of one level
// apply, the oldest (creationTimestamp, then name) wins, as in Istio.

#include <ctime>
#include <regex>

#include "source/pilot/translator.h"
#include "source/pilot/translator_internal.h"
#include "source/pilot/yaml_view.h"

namespace remora::pilot {

using namespace internal;  // NOLINT: shared names of the translator's files

namespace {

bool parseMode(const std::string& text, MtlsMode& out) {
  if (text == "UNSET") {
    out = MtlsMode::kUnset;
  } else if (text == "DISABLE") {
    out = MtlsMode::kDisable;
  } else if (text == "PERMISSIVE") {
    out = MtlsMode::kPermissive;
  } else if (text == "STRICT") {
    out = MtlsMode::kStrict;
  } else {
    return false;
  }
  return true;
}

// An `mtls` value (spec.mtls, or one of portLevelMtls): absent or without a mode is UNSET.
MtlsMode readMode(Checker& check, const YamlView& mtls, const std::string& at) {
  MtlsMode mode = MtlsMode::kUnset;
  if (!mtls) return mode;
  if (!mtls.isMap()) {
    check.fail(at, "must be a mapping with a mode");
    return mode;
  }
  const YamlView& value = mtls["mode"];
  if (value && !parseMode(value.str(), mode)) {
    check.fail(at + ".mode", "\"" + value.str() + "\" is not UNSET, DISABLE, PERMISSIVE or STRICT");
  }
  return mode;
}

// RFC 3339 as Kubernetes writes it ("2024-05-01T10:00:00Z"; fractions and offsets accepted).
bool parseTimestamp(const std::string& text, int64_t& seconds) {
  static const std::regex pattern(
      R"(^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(\.\d+)?([Zz]|([+-])(\d{2}):(\d{2}))$)");
  std::smatch m;
  if (!std::regex_match(text, m, pattern)) return false;
  std::tm tm{};
  tm.tm_year = std::stoi(m[1]) - 1900;
  tm.tm_mon = std::stoi(m[2]) - 1;
  tm.tm_mday = std::stoi(m[3]);
  tm.tm_hour = std::stoi(m[4]);
  tm.tm_min = std::stoi(m[5]);
  tm.tm_sec = std::stoi(m[6]);
  if (tm.tm_mon > 11 || tm.tm_mday < 1 || tm.tm_mday > 31 || tm.tm_hour > 23 || tm.tm_min > 59 ||
      tm.tm_sec > 60) {
    return false;
  }
  seconds = static_cast<int64_t>(timegm(&tm));
  if (m[9].matched) {
    int64_t offset = std::stoi(m[10]) * 3600 + std::stoi(m[11]) * 60;
    seconds += m[9] == "+" ? -offset : offset;
  }
  return true;
}

// Of two policies of one level, the one that applies.
template <class Policy>
bool olderThan(const Policy& a, const Policy& b) {
  return a.created != b.created ? a.created < b.created : a.name < b.name;
}

}  // namespace

bool Translator::parsePeerAuthentication(const Object& o, PeerAuthentication& out,
                                         std::vector<ManifestError>* errors) {
  std::vector<ManifestError> ignored;
  Checker check{o, errors != nullptr ? *errors : ignored};
  const YamlView& spec = o.view()["spec"];
  out.ns = o.ns;
  out.name = o.name;
  std::string api = o.view()["apiVersion"].str();
  if (!api.empty() && api != "security.istio.io/v1beta1" && api != "security.istio.io/v1") {
    check.fail("apiVersion", "\"" + api +
                                 "\" is not supported (security.istio.io/v1beta1, "
                                 "security.istio.io/v1)");
  }
  const YamlView& created = o.view()["metadata"]["creationTimestamp"];
  if (created && !parseTimestamp(created.str(), out.created)) {
    check.fail("metadata.creationTimestamp",
               "\"" + created.str() + "\" is not an RFC 3339 time (e.g. 2024-05-01T10:00:00Z)");
  }
  const YamlView& selector = spec["selector"];
  if (selector && !selector.isMap()) check.fail("spec.selector", "must be a mapping");
  const YamlView& labels = selector["matchLabels"];
  if (labels && !labels.isMap()) check.fail("spec.selector.matchLabels", "must be a mapping");
  for (const auto& label : labels.isMap() ? labels : YamlView()) {
    std::string key = label.first.str();
    if (key.empty() || !label.second.isScalar()) {
      check.fail("spec.selector.matchLabels", "labels must be name: value pairs");
      continue;
    }
    out.selector[key] = label.second.str();
  }
  out.mode = readMode(check, spec["mtls"], "spec.mtls");
  const YamlView& ports = spec["portLevelMtls"];
  if (ports && !ports.isMap()) {
    check.fail("spec.portLevelMtls", "must be a mapping from port number to {mode}");
  } else if (ports.size() > 0 && out.selector.empty()) {
    // As Istio: port numbers are the workload's, so only a policy naming workloads has them.
    check.fail("spec.portLevelMtls",
               "needs spec.selector.matchLabels (port-level settings "
               "apply to the workloads a policy selects)");
  }
  for (const auto& entry : ports.isMap() ? ports : YamlView()) {
    std::string key = entry.first.str();
    std::string at = "spec.portLevelMtls[" + key + "]";
    bool digits =
        !key.empty() && key.size() <= 5 && key.find_first_not_of("0123456789") == std::string::npos;
    uint32_t port = digits ? static_cast<uint32_t>(std::stoul(key)) : 0;
    if (port == 0 || port > 65535) {
      check.fail(at, "\"" + key + "\" is not a port number (1..65535)");
      continue;
    }
    out.port_modes[port] = readMode(check, entry.second, at);
  }
  return check.ok;
}

bool Translator::meshPod(const std::string& ns, const std::string& pod) const {
  auto it = pod_index_->pods.find(ns + "/" + pod);
  return it != pod_index_->pods.end() && it->second->injected;
}

std::optional<std::string> Translator::podServiceAccount(const std::string& ns,
                                                         const std::string& pod) const {
  auto it = pod_index_->pods.find(ns + "/" + pod);
  if (it == pod_index_->pods.end()) return std::nullopt;
  return it->second->service_account;
}

const Translator::PeerAuthentication* Translator::workloadPolicy(const std::string& ns,
                                                                 const std::string& pod) const {
  auto found = pod_index_->pods.find(ns + "/" + pod);
  if (found == pod_index_->pods.end()) return nullptr;  // no labels to select by
  const auto& labels = found->second->labels;
  const PeerAuthentication* best = nullptr;
  for (const auto& policy : peer_authentications_) {
    if (policy.ns != ns || policy.selector.empty()) continue;
    bool selected = true;
    for (const auto& [key, value] : policy.selector) {
      auto it = labels.find(key);
      selected = selected && it != labels.end() && it->second == value;
    }
    if (selected && (best == nullptr || olderThan(policy, *best))) best = &policy;
  }
  return best;
}

MtlsMode Translator::peerAuthenticationMode(const std::string& ns, const std::string& pod,
                                            uint32_t port) const {
  if (const PeerAuthentication* policy = workloadPolicy(ns, pod)) {
    auto it = policy->port_modes.find(port);
    if (port != 0 && it != policy->port_modes.end() && it->second != MtlsMode::kUnset) {
      return it->second;
    }
    if (policy->mode != MtlsMode::kUnset) return policy->mode;
  }
  // The namespace's policy, then the mesh's.
  for (const std::string& level : {ns, options_.root_namespace}) {
    const PeerAuthentication* oldest = nullptr;
    for (const auto& policy : peer_authentications_) {
      if (policy.ns != level || !policy.selector.empty()) continue;
      if (oldest == nullptr || olderThan(policy, *oldest)) oldest = &policy;
    }
    if (oldest != nullptr && oldest->mode != MtlsMode::kUnset) return oldest->mode;
  }
  return MtlsMode::kPermissive;
}

}  // namespace remora::pilot
