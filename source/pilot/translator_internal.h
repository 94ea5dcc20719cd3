#pragma once

// Names and helpers shared by the translator's source files (not part of its interface).

#include <google/protobuf/any.pb.h>

#include <string>
#include <vector>

#include <google/protobuf/duration.pb.h>

#include "remora/config/cluster/v1/cluster.pb.h"
#include "remora/config/listener/v1/listener.pb.h"
#include "remora/extensions/filters/network/http_connection_manager/v1/http_connection_manager.pb.h"
#include "source/pilot/manifests.h"
#include "source/pilot/yaml_view.h"

namespace remora::pilot::internal {

constexpr const char* kPassthrough = "PassthroughCluster";
constexpr const char* kBlackHole = "BlackHoleCluster";
// A sidecar's inbound connections to ports no service declares: to the application at the
// original destination (the pod IP), from 127.0.0.6.
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

// Filter chains and listeners (translator_listeners.cc).

// A listener capturing redirected connections: original_dst, then protocol_detection.
config::listener::v1::Listener capturingListener(const std::string& name,
                                                 const std::string& address, uint32_t port,
                                                 config::listener::v1::TrafficDirection direction);
// HTTP to one cluster (inbound: no retries, no timeout; the caller's sidecar has those).
config::listener::v1::FilterChain inboundHttpChain(const std::string& name,
                                                   const std::string& cluster,
                                                   const std::string& stat,
                                                   const std::string& access_log);
config::listener::v1::FilterChain tcpChain(const std::string& name, const std::string& cluster);
// Match conditions added to a chain.
void matchHttp(config::listener::v1::FilterChain& chain);
void matchPort(config::listener::v1::FilterChain& chain, uint32_t port);

// Mutual TLS (translator_tls.cc).

// The secrets of the proxy's own identity agent (no sds_config): the workload's certificate
// and key, and the mesh's trust bundle.
constexpr const char* kWorkloadCertificate = "default";
constexpr const char* kTrustBundle = "ROOTCA";
// ALPN a server offers on HTTP chains: HTTP/2 first; the HTTP connection manager recognises
// either protocol from the bytes, ALPN only has to agree with the client.
const std::vector<std::string>& httpAlpn();
// The transport socket of an inbound mTLS chain: the workload certificate, clients must
// present one that the trust bundle verifies; `alpn` as the server's preference.
config::core::v1::TypedExtensionConfig inboundMtlsSocket(const std::vector<std::string>& alpn);
// Checks a DestinationRule's `tls` (ClientTLSSettings) at field path `at`.
void checkClientTls(Checker& check, const YamlView& tls, const std::string& at);

template <class Message>
google::protobuf::Any pack(const Message& message) {
  google::protobuf::Any any;
  any.PackFrom(message);
  return any;
}

}  // namespace remora::pilot::internal
