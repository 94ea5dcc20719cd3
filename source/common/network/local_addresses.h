#pragma once

// Which IP addresses belong to this host (the pod's network namespace): loopback, the
// unspecified address (a connection to 0.0.0.0 reaches the host itself) and every address of
// every interface. The proxy asks when it must not talk to itself (loop protection) and when a
// listener serves only clients inside the pod (`local_clients_only`).

#include <chrono>
#include <functional>
#include <vector>

#include "source/interface/network/address.h"

namespace remora::network {

// 127.0.0.0/8, ::1, and IPv4-mapped 127.x.
bool isLoopback(const Address& address);

class LocalAddresses {
 public:
  // Lists the interface addresses (ports ignored). Injected by tests; the default reads
  // getifaddrs(3).
  using Lister = std::function<std::vector<Address>()>;
  using Clock = std::function<std::chrono::steady_clock::time_point()>;

  LocalAddresses();
  LocalAddresses(Lister lister, Clock clock);

  // Thread: one object per thread (no lock); the answer for an address not seen among the
  // interface addresses is checked again by listing them, at most once per
  // `kRefreshInterval`, so a new address is recognised soon and a flood of foreign addresses
  // costs one listing per interval.
  bool isLocal(const Address& address);

  static constexpr std::chrono::milliseconds kRefreshInterval{500};

 private:
  bool listed(const Address& address) const;

  Lister lister_;
  Clock clock_;
  std::vector<Address> addresses_;
  std::chrono::steady_clock::time_point listed_at_{};
  bool ever_listed_ = false;
};

// The addresses of this host's interfaces, from getifaddrs(3) (empty on failure).
std::vector<Address> interfaceAddresses();

}  // namespace remora::network
