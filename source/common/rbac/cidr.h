#pragma once

// IP addresses and CIDR ranges as plain bytes, parsed once at config time so matching a
// request is a few byte comparisons. Independent of the network classes: callers pass an IP
// literal, an in_addr / in6_addr or a sockaddr.

#include <netinet/in.h>
#include <sys/socket.h>

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace remora::rbac {

struct IpAddress {
  enum class Family : uint8_t { kNone, kV4, kV6 };

  // kNone: no address (matches no range).
  Family family = Family::kNone;
  // Network byte order; IPv4 uses the first 4 bytes, the rest stay zero.
  std::array<uint8_t, 16> bytes{};

  // "10.1.2.3" or "fd00::1" (no brackets, port or zone). nullopt when not an IP literal.
  static std::optional<IpAddress> parse(std::string_view text);
  static IpAddress fromV4(const in_addr& addr);
  static IpAddress fromV6(const in6_addr& addr);
  // AF_INET or AF_INET6; any other family (or null) gives kNone.
  static IpAddress fromSockaddr(const sockaddr* sa);

  bool valid() const { return family != Family::kNone; }
  // An IPv6 address of the form ::ffff:a.b.c.d (a dual-stack socket's IPv4 peer).
  bool isV4Mapped() const;
  std::string toString() const;
  bool operator==(const IpAddress&) const = default;
};

class CidrRange {
 public:
  // "10.1.0.0/16", "fd00::/8", or a bare address (a /32 or /128). Bits past the prefix are
  // ignored ("10.1.2.3/16" is 10.1.0.0/16). nullopt when invalid.
  static std::optional<CidrRange> parse(std::string_view text);

  // IPv4 ranges also contain IPv4-mapped IPv6 addresses (::ffff:10.1.2.3 is in 10.0.0.0/8),
  // and IPv6 ranges contain IPv4 addresses through their mapped form.
  bool contains(const IpAddress& address) const;

  const IpAddress& base() const { return base_; }
  uint8_t prefixLength() const { return prefix_length_; }

 private:
  IpAddress base_;
  uint8_t prefix_length_ = 0;
};

}  // namespace remora::rbac
