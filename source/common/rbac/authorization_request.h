#pragma once

// What the RBAC filters know about a connection or request, as views into their own state:
// nothing is copied, and the request must outlive the evaluate() call only.

#include <cstdint>
#include <functional>
#include <optional>
#include <string_view>

#include "source/common/rbac/cidr.h"

namespace remora::rbac {

// Looks a request header up by its lowercase name; nullopt when absent. For repeated headers
// the caller may return the values joined with ",".
using HeaderLookup = std::function<std::optional<std::string_view>(std::string_view)>;

struct AuthorizationRequest {
  // Connection.
  // The mTLS peer's SPIFFE ID ("spiffe://cluster.local/ns/default/sa/productpage"; the
  // "spiffe://" is optional), empty when the peer is not authenticated.
  std::string_view peer_principal;
  // The direct peer's address (kNone when unknown: it then matches no ip_blocks).
  IpAddress source_ip;
  // The original client's address (from X-Forwarded-For, as the HTTP filter trusts it); when
  // not set, remote_ip_blocks and remote.ip use source_ip.
  std::optional<IpAddress> remote_ip;
  IpAddress destination_ip;
  uint32_t destination_port = 0;
  // The TLS server name the client asked for; empty when none.
  std::string_view sni;

  // HTTP. When false (a TCP connection) the fields below are not looked at, and rules using
  // HTTP-only fields follow the TCP rules described in engine.h.
  bool is_http = false;
  // The Host / :authority, possibly with ":port".
  std::string_view host;
  std::string_view method;
  // The request path; the query string, if present, is ignored.
  std::string_view path;
  // The JWT principal "<iss>/<sub>" once a token was validated; empty when none.
  std::string_view request_principal;
  // Request headers for request.headers[...] conditions; unset means no headers.
  HeaderLookup headers;
};

}  // namespace remora::rbac
