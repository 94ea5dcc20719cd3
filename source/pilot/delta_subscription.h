#pragma once

// What one delta discovery stream has of one resource type, and what to send it next.
//
// The stream keeps no per-resource record of what the proxy holds: the proxy holds "the
// layers last sent to it, filtered by its subscription". On a new generation the layers are
// compared position by position with ResourceMap::diff (an unchanged layer is the same
// object and costs nothing), the changes are filtered by the subscription, and a name is
// reported removed only when no layer of the new set has it (a name may move between layers).
// Names subscribed since the last send are sent if present. After a reconnect the versions
// the proxy says it holds (initial_resource_versions) are compared once, at the first send.
//
// The subscription itself is an interned NameSet (name_set.h), shared with every stream
// subscribed to the same names.
//
// Not thread safe: owned by one stream.

#include <map>
#include <string>
#include <vector>

#include "source/pilot/name_set.h"
#include "source/pilot/resource_map.h"

namespace remora::pilot {

class DeltaSubscription {
 public:
  // `wildcard`: the type is sent whole (clusters and listeners asked for without names).
  DeltaSubscription(NameSetTable& table, bool wildcard);

  // A request's changes to the subscription. "*" switches the wildcard on (or off).
  void update(const std::vector<std::string>& subscribe,
              const std::vector<std::string>& unsubscribe);
  // What the proxy says it holds (name -> version), from its first request after a reconnect.
  void setInitialVersions(std::map<std::string, std::string> versions);

  struct Push {
    std::vector<const Resource*> resources;  // sorted by name; valid while the layers live
    std::vector<std::string> removed;        // sorted
    bool empty() const { return resources.empty() && removed.empty(); }
  };
  // What to send so that the proxy holds `layers` (filtered by the subscription); records
  // `layers` as sent. Nothing when nothing the proxy wants changed.
  Push next(const std::vector<ResourceMapPtr>& layers);

  bool wildcard() const { return wildcard_; }
  const NameSetPtr& names() const { return names_; }
  bool wants(std::string_view name) const { return wildcard_ || names_->contains(name); }

 private:
  // Every wanted resource of `layers`, less those `initial_` says the proxy has.
  void fullSend(const std::vector<ResourceMapPtr>& layers, Push& push);
  void diffSend(const std::vector<ResourceMapPtr>& layers, Push& push);
  // Adds `name` to `removed` if the proxy wants it and no layer of `layers` has it.
  void removeIfGone(const std::string& name, const std::vector<ResourceMapPtr>& layers,
                    std::vector<std::string>& removed) const;

  NameSetTable& table_;
  bool wildcard_;
  NameSetPtr names_;
  // The layers last sent, by position (none before the first send: then all is sent).
  bool sent_any_ = false;
  std::vector<ResourceMapPtr> sent_;
  // Subscribed since the last send (may hold names unsubscribed again: filtered by wants()).
  std::vector<std::string> pending_;
  // What a reconnecting proxy said it holds (name -> version), until the first send.
  std::map<std::string, std::string> initial_;
  // The wildcard came on since the last send: everything is sent again.
  bool resend_all_ = false;
};

}  // namespace remora::pilot
