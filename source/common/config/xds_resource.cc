#include "source/common/config/xds_resource.h"

#include <cstdio>
#include <functional>

#include "remora/config/cluster/v1/cluster.pb.h"
#include "remora/config/endpoint/v1/endpoint.pb.h"
#include "remora/config/listener/v1/listener.pb.h"
#include "remora/config/route/v1/route.pb.h"
#include "remora/extensions/transport_sockets/tls/v1/tls.pb.h"

namespace remora::config {

std::optional<std::string> resourceName(const google::protobuf::Any& any) {
  const std::string& type = any.type_url();
  if (type == kClusterType) {
    cluster::v1::Cluster message;
    if (any.UnpackTo(&message)) return message.name();
  } else if (type == kEndpointType) {
    endpoint::v1::ClusterLoadAssignment message;
    if (any.UnpackTo(&message)) return message.cluster_name();
  } else if (type == kListenerType) {
    listener::v1::Listener message;
    if (any.UnpackTo(&message)) return message.name();
  } else if (type == kRouteType) {
    route::v1::RouteConfiguration message;
    if (any.UnpackTo(&message)) return message.name();
  } else if (type == kSecretType) {
    extensions::transport_sockets::tls::v1::Secret message;
    if (any.UnpackTo(&message)) return message.name();
  }
  return std::nullopt;
}

std::string contentVersion(const google::protobuf::Any& any) {
  // FNV-1a over the serialized bytes: a change detector, not a security boundary.
  uint64_t hash = 1469598103934665603ull;
  for (unsigned char c : any.value()) hash = (hash ^ c) * 1099511628211ull;
  char out[17];
  std::snprintf(out, sizeof(out), "%016llx", static_cast<unsigned long long>(hash));
  return out;
}

void SotwTracker::diff(const std::vector<const google::protobuf::Any*>& resources,
                       const std::string& path, std::vector<DecodedResource>& upserts,
                       std::vector<std::string>& removed, UpdateOutcome& outcome) const {
  std::set<std::string> present;
  for (size_t i = 0; i < resources.size(); ++i) {
    std::string rpath = path + "[" + std::to_string(i) + "]";
    auto name = resourceName(*resources[i]);
    if (!name || name->empty()) {
      outcome.errors.add(rpath, "not a decodable " + resources[i]->type_url() + " with a name");
      continue;
    }
    if (!present.insert(*name).second) {
      outcome.reject(*name, rpath, "\"" + *name + "\" appears twice");
      continue;
    }
    std::string version = contentVersion(*resources[i]);
    auto it = versions_.find(*name);
    if (it != versions_.end() && it->second == version) continue;
    upserts.push_back(DecodedResource{*name, version, resources[i]});
  }
  for (const auto& [name, version] : versions_) {
    if (present.count(name) == 0) removed.push_back(name);
  }
}

void SotwTracker::commit(const std::vector<DecodedResource>& upserts,
                         const std::vector<std::string>& removed, const UpdateOutcome& outcome) {
  for (const auto& name : removed) versions_.erase(name);
  for (const auto& resource : upserts) {
    if (outcome.rejected.count(resource.name) == 0) versions_[resource.name] = resource.version;
  }
}

}  // namespace remora::config
