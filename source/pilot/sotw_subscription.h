#pragma once

// What one state-of-the-world discovery stream has of one resource type, and whether to send
// it again.
//
// A response carries every resource of the type the proxy asked for. Its version is a hash
// over those resources' names and versions (computed when each resource was built, so no
// resource bytes are hashed here); the response is built only when that version or the
// names asked for changed. Layers that are the same objects as last time, with the same
// names asked for, cost nothing at all.
//
// Not thread safe: owned by one stream.

#include <algorithm>
#include <iterator>
#include <optional>
#include <string>
#include <vector>

#include "source/pilot/name_set.h"
#include "source/pilot/resource_map.h"

namespace remora::pilot {

class SotwSubscription {
 public:
  // `wildcard`: the type is sent whole and the names asked for are ignored.
  SotwSubscription(NameSetTable& table, bool wildcard);

  // The names of a request (each request repeats the whole list).
  void setNames(std::vector<std::string> names);
  // Whether [begin, end) names exactly the current set, checked without copying: true only
  // when given sorted (as most clients send them); the wildcard ignores names.
  template <class Iterator>
  bool hasNames(Iterator begin, Iterator end) const {
    if (wildcard_) return true;
    const auto& current = names_->names();
    if (static_cast<size_t>(std::distance(begin, end)) != current.size()) return false;
    return std::equal(current.begin(), current.end(), begin);
  }

  struct Response {
    std::string version;
    std::vector<const Resource*> resources;  // valid while the layers live
  };
  // The response to send for `layers`, or nullopt when the proxy already has it. Records it
  // as sent.
  std::optional<Response> next(const std::vector<ResourceMapPtr>& layers);

  const NameSetPtr& names() const { return names_; }

 private:
  NameSetTable& table_;
  bool wildcard_;
  NameSetPtr names_;
  bool names_changed_ = false;
  std::vector<ResourceMapPtr> sent_layers_;
  std::string sent_version_;  // "" before the first response
};

}  // namespace remora::pilot
