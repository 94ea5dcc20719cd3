#pragma once

// An IPv4 or IPv6 socket address as a value type.

#include <netinet/in.h>
#include <sys/socket.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace remora::network {

class Address {
 public:
  Address() = default;

  // Parses an IP literal ("127.0.0.1", "::1") and port. nullopt if `ip` is not a literal.
  static std::optional<Address> fromIpPort(std::string_view ip, uint16_t port);
  // Copies a kernel sockaddr (AF_INET or AF_INET6). nullopt for other families.
  static std::optional<Address> fromSockaddr(const ::sockaddr* sa, socklen_t len);

  const ::sockaddr* sockAddr() const { return reinterpret_cast<const ::sockaddr*>(&storage_); }
  socklen_t sockaddrLen() const { return len_; }
  int family() const { return storage_.sa.sa_family; }
  bool valid() const { return len_ != 0; }
  std::string ip() const;
  uint16_t port() const;
  // "1.2.3.4:80" or "[::1]:80".
  std::string asString() const;

  bool operator==(const Address& other) const;

 private:
  // Just big enough for IPv6 (28 bytes, not sockaddr_storage's 128): hosts carry one each.
  union Storage {
    ::sockaddr sa;
    ::sockaddr_in v4;
    ::sockaddr_in6 v6;
  };
  Storage storage_{};
  socklen_t len_ = 0;
};

}  // namespace remora::network
