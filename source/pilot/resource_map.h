#pragma once

// The proxies' configuration as immutable, shared pieces.
//
// A Resource is one named xDS resource, packed and given its version (a hash of its type and
// bytes) once, when it is built; every proxy that is served it shares the same object. A
// ResourceMap is one immutable set of resources of a type (e.g. every mesh-wide cluster, or
// one pod's inbound listener); a new version of a map is made from the previous one and
// records which names changed or went away, so that a discovery stream holding the previous
// version finds what to send without looking at every resource. ProxyResources is what one
// proxy is served: per type, a few maps ("layers") with disjoint names, most of them shared by
// every proxy (the mesh's clusters and endpoints) or by a namespace.
//
// Everything here is immutable once made and safe to read from any thread.

#include <google/protobuf/any.pb.h>
#include <google/protobuf/message.h>

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace remora::pilot {

struct Resource {
  std::string name;
  // Hex of a 64-bit hash of the type URL and the serialized message: equal content, equal
  // version, whoever built it.
  std::string version;
  google::protobuf::Any any;
};
using ResourcePtr = std::shared_ptr<const Resource>;

// Packs `message` as the resource `name`.
ResourcePtr makeResource(const std::string& name, const google::protobuf::Message& message);
// The same for an already packed message.
ResourcePtr makeResource(const std::string& name, google::protobuf::Any any);

class ResourceMap {
 public:
  using Entries = std::map<std::string, ResourcePtr, std::less<>>;

  // A map holding `entries`, as a new version of `previous` (null: the first version). When
  // `entries` are exactly `previous`'s (same names, same versions) `previous` itself is
  // returned, so an unchanged piece of configuration stays the same object across
  // translations and streams can skip it by pointer comparison.
  static std::shared_ptr<const ResourceMap> make(
      Entries entries, const std::shared_ptr<const ResourceMap>& previous = nullptr);
  // An empty map (shared).
  static std::shared_ptr<const ResourceMap> empty();

  const Entries& entries() const { return entries_; }
  size_t size() const { return entries_.size(); }
  // The resource named `name`, or null.
  const Resource* find(std::string_view name) const;

  // Relative to the map this one was made from (see base()): the names added or given a new
  // version, and the names no longer present (both sorted).
  const std::vector<std::string>& changed() const { return changed_; }
  const std::vector<std::string>& removed() const { return removed_; }
  // The map this version was made from, while something still holds it (null otherwise).
  std::shared_ptr<const ResourceMap> base() const { return base_.lock(); }

  // What a holder of `from` (null: nothing) needs to hold `to`: the resources of `to` that
  // are new or have another version, and the names of `from` that `to` lacks. Uses the
  // recorded changes when `to` was made from `from`; otherwise compares the two maps.
  struct Diff {
    std::vector<const Resource*> changed;
    std::vector<std::string> removed;
  };
  static Diff diff(const ResourceMap* from, const ResourceMap& to);

 private:
  Entries entries_;
  std::weak_ptr<const ResourceMap> base_;
  std::vector<std::string> changed_;
  std::vector<std::string> removed_;
};
using ResourceMapPtr = std::shared_ptr<const ResourceMap>;

// What one proxy is served, per resource type: layers whose names never overlap (so a name is
// found in at most one), most of them shared between proxies.
struct ProxyResources {
  std::vector<ResourceMapPtr> clusters;
  std::vector<ResourceMapPtr> endpoints;
  std::vector<ResourceMapPtr> listeners;
  std::vector<ResourceMapPtr> routes;
};

// Every resource of `layers` by name, e.g. for tests and debug pages.
std::map<std::string, google::protobuf::Any> flatten(const std::vector<ResourceMapPtr>& layers);

}  // namespace remora::pilot
