#include "source/pilot/security/authorization_policy.h"

#include <algorithm>
#include <string_view>
#include <utility>

#include "source/pilot/security/policy_reader.h"

namespace remora::pilot {
namespace {

constexpr std::string_view kKind = "AuthorizationPolicy";
constexpr std::string_view kGroup = "security.istio.io/";

// Whether `object` is Istio's AuthorizationPolicy; reports an Istio version it cannot read.
bool isIstioPolicy(const Object& object, std::vector<ManifestError>& errors) {
  if (object.kind != kKind) return false;
  std::string api = object.view()["apiVersion"].str();
  if (api.empty()) return true;
  if (api.compare(0, kGroup.size(), kGroup) != 0) return false;
  if (api == "security.istio.io/v1beta1" || api == "security.istio.io/v1") return true;
  errors.push_back({object.where() + ": apiVersion: \"" + api +
                    "\" is not supported (security.istio.io/v1beta1, security.istio.io/v1)"});
  return false;
}

bool selects(const std::map<std::string, std::string>& selector,
             const std::map<std::string, std::string>& labels) {
  return std::all_of(selector.begin(), selector.end(), [&labels](const auto& wanted) {
    auto it = labels.find(wanted.first);
    return it != labels.end() && it->second == wanted.second;
  });
}

}  // namespace

AuthorizationPolicies::AuthorizationPolicies(const std::vector<Object>& objects,
                                             std::string root_namespace, std::string trust_domain,
                                             const AuthorizationPolicies* previous)
    : root_namespace_(std::move(root_namespace)), trust_domain_(std::move(trust_domain)) {
  // namespace/name -> the file that defined it first.
  std::map<std::string, std::string> seen;
  for (const Object& object : objects) {
    if (!isIstioPolicy(object, errors_)) continue;
    // The same object in two files: keep the first (files are read in name order) rather
    // than let the proxy see two policies under one name, which it refuses.
    auto [first, inserted] = seen.emplace(object.ns + "/" + object.name, object.file);
    if (!inserted) {
      errors_.push_back(
          {object.where() + ": defined again (first in " + first->second + "); left out"});
      continue;
    }
    auto read = security::readAuthorizationPolicy(object, trust_domain_, errors_);
    if (!read) {
      if (const Translated* last = previous ? previous->find(object.ns, object.name) : nullptr) {
        by_namespace_[object.ns][object.name] = *last;
        errors_.push_back({object.where() + ": its last good version stays in force"});
      }
      continue;
    }
    read->policy.set_name(policyName(object.ns, object.name));
    by_namespace_[object.ns][object.name] = {std::move(read->selector), std::move(read->policy)};
  }
}

config::rbac::v1::Rbac AuthorizationPolicies::forWorkload(
    const std::string& ns, const std::map<std::string, std::string>& pod_labels) const {
  config::rbac::v1::Rbac rbac;
  auto addFrom = [&](const std::string& from) {
    auto policies = by_namespace_.find(from);
    if (policies == by_namespace_.end()) return;
    for (const auto& [name, translated] : policies->second) {
      if (selects(translated.selector, pod_labels)) *rbac.add_policies() = translated.policy;
    }
  };
  addFrom(root_namespace_);
  if (ns != root_namespace_) addFrom(ns);
  return rbac;
}

const AuthorizationPolicies::Translated* AuthorizationPolicies::find(
    const std::string& ns, const std::string& name) const {
  auto policies = by_namespace_.find(ns);
  if (policies == by_namespace_.end()) return nullptr;
  auto it = policies->second.find(name);
  return it == policies->second.end() ? nullptr : &it->second;
}

std::string AuthorizationPolicies::policyName(const std::string& ns, const std::string& name) {
  return ns + "/" + name;
}

}  // namespace remora::pilot
