#pragma once

// Names and helpers shared by the translator's source files (not part of its interface).

#include <google/protobuf/any.pb.h>

#include <string>

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

template <class Message>
google::protobuf::Any pack(const Message& message) {
  google::protobuf::Any any;
  any.PackFrom(message);
  return any;
}

}  // namespace remora::pilot::internal
