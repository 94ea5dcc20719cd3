#pragma once

// The header rules a proxy applies on the way through (RFC 9110 and what Envoy users expect).

#include <string_view>

#include "source/interface/http/header_map.h"
#include "source/interface/network/address.h"

namespace remora::filters::hcm {

// Removes hop-by-hop headers (Connection and those it names, Keep-Alive, Proxy-Connection,
// Transfer-Encoding, Upgrade unless `keep_upgrade`, TE unless it is exactly "trailers").
void removeHopByHopHeaders(http::HeaderMap& headers, bool keep_upgrade);

// Request side: appends the peer to x-forwarded-for, sets x-forwarded-proto when absent, adds
// x-request-id (UUIDv4) when absent and `generate_request_id`.
void addForwardingHeaders(http::HeaderMap& request, const network::Address& peer,
                          std::string_view scheme, bool generate_request_id);

// True for a request that asks for an upgrade (Connection lists upgrade, Upgrade present).
bool isUpgradeRequest(const http::HeaderMap& request);

}  // namespace remora::filters::hcm
