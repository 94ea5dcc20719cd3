#pragma once

// Where pilot serves the plaintext discovery port (--listen): for local development only. It
// serves any node's configuration (listeners, routes, policies) to whoever connects and says
// which node it is, so it binds loopback by default and can be turned off. In a mesh, proxies
// use the TLS port instead (the CA's, 15012), where the client certificate decides which node
// may be asked for (see xds_auth/).

#include <string>

namespace remora::pilot {

inline constexpr char kDefaultPlaintextListen[] = "127.0.0.1:15010";

// "off" (no plaintext port), or IP:PORT.
bool plaintextDiscoveryEnabled(const std::string& listen);

// Whether IP:PORT (or [IPv6]:PORT) names a loopback address (127.0.0.0/8, ::1), which only
// the pilot's own host (or pod) can reach.
bool loopbackOnly(const std::string& listen);

}  // namespace remora::pilot
