#pragma once

// Names and helpers shared by the translator's source files (not part of its interface).

#include <google/protobuf/any.pb.h>

#include <string>
#include <vector>

#include <google/protobuf/duration.pb.h>

#include "remora/config/cluster/v1/cluster.pb.h"
#include "source/pilot/manifests.h"
#include "source/pilot/yaml_view.h"

namespace remora::pilot::internal {

constexpr const char* kPassthrough = "PassthroughCluster";
constexpr const char* kBlackHole = "BlackHoleCluster";
// A sidecar's inbound connections to ports no service declares: to the application on
// loopback at the original port.
constexpr const char* kInboundPassthrough = "InboundPassthroughCluster";

inline std::string clusterName(uint32_t port, const std::string& subset, const std::string& fqdn) {
  return "outbound|" + std::to_string(port) + "|" + subset + "|" + fqdn;
}

inline std::string inboundClusterName(uint32_t port) {
  return "inbound|" + std::to_string(port) + "||";
}

inline std::string str(const YamlView& node) { return node.str(); }

// Istio durations: "2s", "100ms", "1.5s", "1m", "1h", "500us". False when malformed.
bool parseDuration(const std::string& text, google::protobuf::Duration& out);

// Reports problems under one object; `ok` turns false at the first.
struct Checker {
  const Object& object;
  std::vector<ManifestError>& errors;
  bool ok = true;
  void fail(const std::string& field, const std::string& message) {
    errors.push_back({object.where() + ": " + field + ": " + message});
    ok = false;
  }
  void duration(const YamlView& node, const std::string& field) {
    google::protobuf::Duration d;
    if (node && !parseDuration(str(node), d)) {
      fail(field, "\"" + str(node) + "\" is not a duration (e.g. 2s, 100ms)");
    }
  }
  void percentage(const YamlView& node, const std::string& field) {
    if (!node) return;
    try {
      double v = node["value"] ? node["value"].as<double>() : node.as<double>();
      if (!(v >= 0 && v <= 100)) fail(field, "must be 0..100");
    } catch (const YAML::Exception&) {
      fail(field, "must be a number");
    }
  }
};

// One endpoint ip:port in a STATIC cluster's inline load assignment.
inline void addStaticEndpoint(config::cluster::v1::Cluster& cluster, const std::string& ip,
                              uint32_t port) {
  auto* sa = cluster.mutable_load_assignment()
                 ->add_endpoints()
                 ->add_lb_endpoints()
                 ->mutable_endpoint()
                 ->mutable_address()
                 ->mutable_socket_address();
  sa->set_address(ip);
  sa->set_port_value(port);
}

template <class Message>
google::protobuf::Any pack(const Message& message) {
  google::protobuf::Any any;
  any.PackFrom(message);
  return any;
}

}  // namespace remora::pilot::internal
