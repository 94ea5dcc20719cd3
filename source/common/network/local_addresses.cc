#include "source/common/network/local_addresses.h"

#include <ifaddrs.h>
#include <netinet/in.h>

#include <cstring>

namespace remora::network {
namespace {

// Compares the IPs of two addresses, whatever their ports.
bool sameIp(const Address& a, const Address& b) {
  if (a.family() != b.family()) return false;
  if (a.family() == AF_INET) {
    return reinterpret_cast<const sockaddr_in*>(a.sockAddr())->sin_addr.s_addr ==
           reinterpret_cast<const sockaddr_in*>(b.sockAddr())->sin_addr.s_addr;
  }
  return std::memcmp(&reinterpret_cast<const sockaddr_in6*>(a.sockAddr())->sin6_addr,
                     &reinterpret_cast<const sockaddr_in6*>(b.sockAddr())->sin6_addr,
                     sizeof(in6_addr)) == 0;
}

bool isUnspecified(const Address& address) {
  if (address.family() == AF_INET) {
    return reinterpret_cast<const sockaddr_in*>(address.sockAddr())->sin_addr.s_addr == 0;
  }
  const auto& a6 = reinterpret_cast<const sockaddr_in6*>(address.sockAddr())->sin6_addr;
  return IN6_IS_ADDR_UNSPECIFIED(&a6);
}

}  // namespace

bool isLoopback(const Address& address) {
  if (!address.valid()) return false;
  if (address.family() == AF_INET) {
    uint32_t ip = ntohl(reinterpret_cast<const sockaddr_in*>(address.sockAddr())->sin_addr.s_addr);
    return (ip >> 24) == 127;
  }
  const auto& a6 = reinterpret_cast<const sockaddr_in6*>(address.sockAddr())->sin6_addr;
  if (IN6_IS_ADDR_LOOPBACK(&a6)) return true;
  return IN6_IS_ADDR_V4MAPPED(&a6) && a6.s6_addr[12] == 127;
}

std::vector<Address> interfaceAddresses() {
  std::vector<Address> out;
  ifaddrs* list = nullptr;
  if (::getifaddrs(&list) != 0) return out;
  for (ifaddrs* entry = list; entry != nullptr; entry = entry->ifa_next) {
    if (entry->ifa_addr == nullptr) continue;
    int family = entry->ifa_addr->sa_family;
    socklen_t len = family == AF_INET    ? sizeof(sockaddr_in)
                    : family == AF_INET6 ? sizeof(sockaddr_in6)
                                         : 0;
    if (len == 0) continue;
    if (auto address = Address::fromSockaddr(entry->ifa_addr, len)) out.push_back(*address);
  }
  ::freeifaddrs(list);
  return out;
}

LocalAddresses::LocalAddresses()
    : LocalAddresses(interfaceAddresses, [] { return std::chrono::steady_clock::now(); }) {}

LocalAddresses::LocalAddresses(Lister lister, Clock clock)
    : lister_(std::move(lister)), clock_(std::move(clock)) {}

bool LocalAddresses::listed(const Address& address) const {
  for (const auto& local : addresses_) {
    if (sameIp(local, address)) return true;
  }
  return false;
}

bool LocalAddresses::isLocal(const Address& address) {
  if (!address.valid()) return false;
  if (isLoopback(address) || isUnspecified(address)) return true;
  if (listed(address)) return true;
  auto now = clock_();
  if (ever_listed_ && now - listed_at_ < kRefreshInterval) return false;
  addresses_ = lister_();
  listed_at_ = now;
  ever_listed_ = true;
  return listed(address);
}

}  // namespace remora::network
