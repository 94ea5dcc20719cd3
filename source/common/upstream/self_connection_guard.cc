#include "source/common/upstream/self_connection_guard.h"

#include <netinet/in.h>

#include <cstring>

namespace remora::upstream {
namespace {

bool wildcard(const network::Address& address) {
  if (address.family() == AF_INET) {
    return reinterpret_cast<const sockaddr_in*>(address.sockAddr())->sin_addr.s_addr == 0;
  }
  const auto& ip = reinterpret_cast<const sockaddr_in6*>(address.sockAddr())->sin6_addr;
  return IN6_IS_ADDR_UNSPECIFIED(&ip);
}

}  // namespace

bool SelfConnectionGuard::ownListener(const network::Address& destination) {
  if (!destination.valid()) return false;
  for (const auto& listener : listeners_) {
    if (!listener.valid() || listener.port() != destination.port()) continue;
    if (wildcard(listener)) {
      // [::] usually takes IPv4 too (dual stack): any local destination of either family.
      if (local_.isLocal(destination)) return true;
      continue;
    }
    if (listener.ip() == destination.ip()) return true;
    // Any loopback address reaches a listener on a loopback address only if it is that one;
    // but 0.0.0.0 as a destination reaches every local listener of the port.
    if (wildcard(destination)) return true;
  }
  return false;
}

}  // namespace remora::upstream
