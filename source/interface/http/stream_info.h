#pragma once

// What happened to one request, for the access log and metrics.

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

#include "source/interface/network/address.h"

namespace remora::http {

// Why a response was not a plain proxied one (Envoy's response flags, same letters in logs).
enum class ResponseFlag : uint32_t {
  kNone = 0,
  kNoRouteFound = 1 << 0,                     // NR
  kNoHealthyUpstream = 1 << 1,                // UH
  kUpstreamConnectionFailure = 1 << 2,        // UF
  kUpstreamRequestTimeout = 1 << 3,           // UT
  kUpstreamRemoteReset = 1 << 4,              // UR
  kUpstreamProtocolError = 1 << 5,            // UPE
  kDownstreamProtocolError = 1 << 6,          // DPE
  kDownstreamConnectionTermination = 1 << 7,  // DC
  kLocalReset = 1 << 8,                       // LR
  kNoClusterFound = 1 << 9,                   // NC
  kStreamIdleTimeout = 1 << 10,               // SI
  kUpstreamOverflow = 1 << 11,                // UO
  kDelayInjected = 1 << 12,                   // DI
  kFaultInjected = 1 << 13,                   // FI
  kRateLimited = 1 << 14,                     // RL
};

struct StreamInfo {
  std::chrono::system_clock::time_point start_time;
  std::chrono::steady_clock::time_point start_monotonic;
  std::optional<std::chrono::steady_clock::time_point> end_monotonic;
  uint32_t response_flags = 0;
  uint32_t response_code = 0;
  std::string response_code_details;
  uint64_t bytes_received = 0;  // request body bytes
  uint64_t bytes_sent = 0;      // response body bytes
  std::string route_name;
  std::string cluster_name;
  std::optional<network::Address> upstream_host;
  network::Address downstream_remote;
  // The client's SPIFFE ID, from its verified certificate (mutual TLS); empty otherwise.
  std::string downstream_peer_principal;

  void setFlag(ResponseFlag flag) { response_flags |= static_cast<uint32_t>(flag); }
  bool hasFlag(ResponseFlag flag) const {
    return (response_flags & static_cast<uint32_t>(flag)) != 0;
  }
};

}  // namespace remora::http
