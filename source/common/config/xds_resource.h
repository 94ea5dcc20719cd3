#pragma once

// What every source of dynamic resources (a watched file, the control plane's stream in
// state-of-the-world or delta mode) hands to the proxy: resources of one type that are new or
// changed, and the names of those removed. Sources that deliver whole sets turn them into
// this form (SotwTracker), so the proxy's cost of an update follows what changed.

#include <google/protobuf/any.pb.h>

#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "source/interface/config/errors.h"

namespace remora::config {

inline constexpr std::string_view kListenerType =
    "type.googleapis.com/remora.config.listener.v1.Listener";
inline constexpr std::string_view kRouteType =
    "type.googleapis.com/remora.config.route.v1.RouteConfiguration";
inline constexpr std::string_view kClusterType =
    "type.googleapis.com/remora.config.cluster.v1.Cluster";
inline constexpr std::string_view kEndpointType =
    "type.googleapis.com/remora.config.endpoint.v1.ClusterLoadAssignment";
// Certificates and trust bundles (SDS), asked for by name.
inline constexpr std::string_view kSecretType =
    "type.googleapis.com/remora.extensions.transport_sockets.tls.v1.Secret";

struct DecodedResource {
  std::string name;
  // Of this resource's content (the source's version, or a hash of its bytes).
  std::string version;
  // The resource as received; owned by the response, valid during the update callback only.
  const google::protobuf::Any* resource = nullptr;
};

// The name inside a packed resource of one of the five types (Listener, RouteConfiguration,
// Cluster and Secret `name`, ClusterLoadAssignment `cluster_name`); empty when the type is unknown or
// the bytes do not decode.
std::optional<std::string> resourceName(const google::protobuf::Any& any);
// A short hash of the resource's bytes.
std::string contentVersion(const google::protobuf::Any& any);

// The outcome of one update: errors name each rejected resource; rejected resources keep their
// last good version.
struct UpdateOutcome {
  Errors errors;
  std::set<std::string> rejected;
  void reject(const std::string& name, std::string_view path, std::string_view reason) {
    errors.add(path, reason);
    rejected.insert(name);
  }
};

class SubscriptionCallbacks {
 public:
  virtual ~SubscriptionCallbacks() = default;
  // Main thread. `upserts` are new or changed resources of `type_url`, `removed` the names that
  // went away. Each resource is validated on its own: a bad one is reported in `outcome` and
  // keeps its last good version; the others apply.
  virtual void onResourceUpdate(std::string_view type_url,
                                const std::vector<DecodedResource>& upserts,
                                const std::vector<std::string>& removed,
                                UpdateOutcome& outcome) = 0;
};

// Asks the control plane for resources; implemented by the ADS client.
class ResourceInterest {
 public:
  virtual ~ResourceInterest() = default;
  // The resources of `type_url` wanted from now on: all of them (`wildcard`, listeners and
  // clusters) or those named (an empty set: none).
  virtual void setInterest(std::string_view type_url, const std::set<std::string>& names,
                           bool wildcard) = 0;
};

// Turns whole sets of one type into upserts and removals, remembering the versions accepted.
class SotwTracker {
 public:
  // Decodes `resources` (all of one type); a resource without a name is reported and skipped.
  // Fills the resources new or changed since the last accepted set, and the names gone.
  void diff(const std::vector<const google::protobuf::Any*>& resources, const std::string& path,
            std::vector<DecodedResource>& upserts, std::vector<std::string>& removed,
            UpdateOutcome& outcome) const;
  // Records what was applied: the upserts not rejected, minus the removals.
  void commit(const std::vector<DecodedResource>& upserts, const std::vector<std::string>& removed,
              const UpdateOutcome& outcome);
  const std::map<std::string, std::string>& versions() const { return versions_; }

 private:
  std::map<std::string, std::string> versions_;
};

}  // namespace remora::config
