#pragma once

// Loop protection: ORIGINAL_DST clusters (the passthrough of tcp_proxy and of the HTTP router)
// connect wherever the client was going. When that is one of the proxy's own listeners (a
// connection straight to 15001 or 15006 that capture did not redirect, or an application
// dialling its own pod IP at 15006), the proxy would accept its own connection, pass it
// through again, and so on: thousands of connections a second until descriptors run out. The
// guard answers whether a destination is such a listener, so the cluster refuses it instead.
//
// It holds the addresses the proxy listens on (every listener, admin and readiness); a
// listener bound to 0.0.0.0 or :: owns its port on every local address.

#include <vector>

#include "source/common/network/local_addresses.h"
#include "source/interface/network/address.h"

namespace remora::upstream {

class SelfConnectionGuard {
 public:
  SelfConnectionGuard() = default;
  explicit SelfConnectionGuard(network::LocalAddresses local) : local_(std::move(local)) {}

  // Thread: one guard per worker, used and updated on that worker only.
  // The bound addresses of the proxy's listeners (ports resolved, not 0).
  void setListenerAddresses(std::vector<network::Address> addresses) {
    listeners_ = std::move(addresses);
  }
  // Whether a connection to `destination` would reach one of those listeners. Costs a port
  // comparison per listener; an interface lookup only when a port matches a wildcard listener.
  bool ownListener(const network::Address& destination);

 private:
  std::vector<network::Address> listeners_;
  network::LocalAddresses local_;
};

}  // namespace remora::upstream
