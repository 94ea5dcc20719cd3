#include "source/pilot/resource_map.h"

#include "source/pilot/fingerprint.h"

namespace remora::pilot {
namespace {

std::string versionOf(const google::protobuf::Any& any) {
  return Fingerprint().add(any.type_url()).add(any.value()).hex();
}

}  // namespace

ResourcePtr makeResource(const std::string& name, const google::protobuf::Message& message) {
  google::protobuf::Any any;
  any.PackFrom(message);
  return makeResource(name, std::move(any));
}

ResourcePtr makeResource(const std::string& name, google::protobuf::Any any) {
  auto resource = std::make_shared<Resource>();
  resource->name = name;
  resource->version = versionOf(any);
  resource->any = std::move(any);
  return resource;
}

ResourceMapPtr ResourceMap::make(Entries entries, const ResourceMapPtr& previous) {
  auto map = std::make_shared<ResourceMap>();
  map->entries_ = std::move(entries);
  if (!previous) {
    for (const auto& [name, resource] : map->entries_) map->changed_.push_back(name);
    return map;
  }
  Diff changes = diff(previous.get(), *map);  // map has no base yet: compared entry by entry
  if (changes.changed.empty() && changes.removed.empty()) return previous;
  for (const Resource* resource : changes.changed) map->changed_.push_back(resource->name);
  map->removed_ = std::move(changes.removed);
  map->base_ = previous;
  return map;
}

ResourceMapPtr ResourceMap::empty() {
  static const ResourceMapPtr kEmpty = std::make_shared<ResourceMap>();
  return kEmpty;
}

const Resource* ResourceMap::find(std::string_view name) const {
  auto it = entries_.find(name);
  return it == entries_.end() ? nullptr : it->second.get();
}

ResourceMap::Diff ResourceMap::diff(const ResourceMap* from, const ResourceMap& to) {
  Diff out;
  if (from == &to) return out;
  if (from == nullptr) {
    for (const auto& [name, resource] : to.entries_) out.changed.push_back(resource.get());
    return out;
  }
  if (to.base().get() == from) {
    for (const auto& name : to.changed_) out.changed.push_back(to.find(name));
    out.removed = to.removed_;
    return out;
  }
  auto a = from->entries_.begin();
  auto b = to.entries_.begin();
  while (a != from->entries_.end() || b != to.entries_.end()) {
    if (b == to.entries_.end() || (a != from->entries_.end() && a->first < b->first)) {
      out.removed.push_back(a->first);
      ++a;
    } else if (a == from->entries_.end() || b->first < a->first) {
      out.changed.push_back(b->second.get());
      ++b;
    } else {
      if (a->second != b->second && a->second->version != b->second->version) {
        out.changed.push_back(b->second.get());
      }
      ++a;
      ++b;
    }
  }
  return out;
}

std::map<std::string, google::protobuf::Any> flatten(const std::vector<ResourceMapPtr>& layers) {
  std::map<std::string, google::protobuf::Any> out;
  for (const auto& layer : layers) {
    if (!layer) continue;
    for (const auto& [name, resource] : layer->entries()) out[name] = resource->any;
  }
  return out;
}

}  // namespace remora::pilot
