#include "source/pilot/delta_subscription.h"

#include <algorithm>

namespace remora::pilot {
namespace {

bool byName(const Resource* a, const Resource* b) { return a->name < b->name; }
bool sameName(const Resource* a, const Resource* b) { return a->name == b->name; }

}  // namespace

DeltaSubscription::DeltaSubscription(NameSetTable& table, bool wildcard)
    : table_(table), wildcard_(wildcard), names_(table.intern({})) {}

void DeltaSubscription::update(const std::vector<std::string>& subscribe,
                               const std::vector<std::string>& unsubscribe) {
  std::vector<std::string> added;
  std::vector<std::string> dropped;
  for (const auto& name : subscribe) {
    if (name == "*") {
      resend_all_ = resend_all_ || !wildcard_;
      wildcard_ = true;
    } else if (!names_->contains(name)) {
      added.push_back(name);
    }
  }
  for (const auto& name : unsubscribe) {
    if (name == "*") {
      wildcard_ = false;
    } else if (names_->contains(name)) {
      dropped.push_back(name);
    }
  }
  pending_.insert(pending_.end(), added.begin(), added.end());
  if (added.empty() && dropped.empty()) return;
  // Copy on write: the current set is shared with other streams.
  NameSet::normalize(dropped);
  std::vector<std::string> names;
  names.reserve(names_->size() + added.size());
  for (const auto& name : names_->names()) {
    if (!std::binary_search(dropped.begin(), dropped.end(), name)) names.push_back(name);
  }
  for (auto& name : added) {
    if (!std::binary_search(dropped.begin(), dropped.end(), name)) names.push_back(std::move(name));
  }
  names_ = table_.intern(std::move(names));
}

void DeltaSubscription::setInitialVersions(std::map<std::string, std::string> versions) {
  initial_ = std::move(versions);
}

DeltaSubscription::Push DeltaSubscription::next(const std::vector<ResourceMapPtr>& layers) {
  Push push;
  if (!sent_any_ || resend_all_) {
    fullSend(layers, push);
  } else {
    diffSend(layers, push);
  }
  std::sort(push.resources.begin(), push.resources.end(), byName);
  push.resources.erase(std::unique(push.resources.begin(), push.resources.end(), sameName),
                       push.resources.end());
  NameSet::normalize(push.removed);
  sent_ = layers;
  sent_any_ = true;
  resend_all_ = false;
  pending_.clear();
  initial_.clear();
  return push;
}

void DeltaSubscription::fullSend(const std::vector<ResourceMapPtr>& layers, Push& push) {
  auto held = [&](const Resource& resource) {
    auto it = initial_.find(resource.name);
    return it != initial_.end() && it->second == resource.version;
  };
  for (const auto& layer : layers) {
    if (!layer) continue;
    if (!wildcard_ && names_->size() < layer->size()) {
      // A few names out of a big layer (one service's endpoints out of the mesh's).
      for (const auto& name : names_->names()) {
        const Resource* resource = layer->find(name);
        if (resource != nullptr && !held(*resource)) push.resources.push_back(resource);
      }
      continue;
    }
    for (const auto& [name, resource] : layer->entries()) {
      if (wants(name) && !held(*resource)) push.resources.push_back(resource.get());
    }
  }
  for (const auto& [name, version] : initial_) removeIfGone(name, layers, push.removed);
}

void DeltaSubscription::diffSend(const std::vector<ResourceMapPtr>& layers, Push& push) {
  for (size_t i = 0; i < std::max(layers.size(), sent_.size()); ++i) {
    const ResourceMap* from = i < sent_.size() ? sent_[i].get() : nullptr;
    if (i >= layers.size() || !layers[i]) {
      // A layer that is no more: its names are gone unless another layer has them.
      if (from != nullptr) {
        for (const auto& [name, resource] : from->entries()) {
          removeIfGone(name, layers, push.removed);
        }
      }
      continue;
    }
    const ResourceMap& to = *layers[i];
    if (from == &to) continue;
    ResourceMap::Diff diff = ResourceMap::diff(from, to);
    for (const Resource* resource : diff.changed) {
      if (wants(resource->name)) push.resources.push_back(resource);
    }
    for (const auto& name : diff.removed) removeIfGone(name, layers, push.removed);
  }
  for (const auto& name : pending_) {
    if (!wants(name)) continue;
    for (const auto& layer : layers) {
      const Resource* resource = layer ? layer->find(name) : nullptr;
      if (resource != nullptr) {
        push.resources.push_back(resource);
        break;
      }
    }
  }
}

void DeltaSubscription::removeIfGone(const std::string& name,
                                     const std::vector<ResourceMapPtr>& layers,
                                     std::vector<std::string>& removed) const {
  if (!wants(name)) return;
  for (const auto& layer : layers) {
    if (layer && layer->find(name) != nullptr) return;
  }
  removed.push_back(name);
}

}  // namespace remora::pilot
