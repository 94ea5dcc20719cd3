#include "source/pilot/sotw_subscription.h"

#include <algorithm>
#include "source/pilot/fingerprint.h"

namespace remora::pilot {
SotwSubscription::SotwSubscription(NameSetTable& table, bool wildcard)
    : table_(table), wildcard_(wildcard), names_(table.intern({})) {}

void SotwSubscription::setNames(std::vector<std::string> names) {
  if (wildcard_) return;
  NameSet::normalize(names);
  if (names == names_->names()) return;
  names_ = table_.intern(std::move(names));
  names_changed_ = true;
}

std::optional<SotwSubscription::Response> SotwSubscription::next(
    const std::vector<ResourceMapPtr>& layers) {
  if (!sent_version_.empty() && !names_changed_ && layers == sent_layers_) return std::nullopt;
  Response response;
  for (const auto& layer : layers) {
    if (!layer) continue;
    if (!wildcard_ && names_->size() < layer->size()) {
      for (const auto& name : names_->names()) {
        if (const Resource* resource = layer->find(name)) response.resources.push_back(resource);
      }
    } else {
      for (const auto& [name, resource] : layer->entries()) {
        if (wildcard_ || names_->contains(name)) response.resources.push_back(resource.get());
      }
    }
  }
  // Layers have disjoint names; sorted, the version does not depend on how they are cut.
  std::sort(response.resources.begin(), response.resources.end(),
            [](const Resource* a, const Resource* b) { return a->name < b->name; });
  Fingerprint hash;
  for (const Resource* resource : response.resources)
    hash.add(resource->name).add(resource->version);
  std::string version = hash.hex();
  sent_layers_ = layers;
  bool names_changed = names_changed_;
  names_changed_ = false;
  if (version == sent_version_ && !names_changed) return std::nullopt;
  sent_version_ = version;
  response.version = version;
  return response;
}

}  // namespace remora::pilot
