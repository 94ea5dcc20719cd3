#include "source/common/rbac/cidr.h"

#include <arpa/inet.h>

#include <charconv>
#include <cstring>

namespace remora::rbac {
namespace {

constexpr uint8_t kV4MappedPrefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

// Whether the first `bits` bits of `a` and `b` are equal.
bool prefixEqual(const uint8_t* a, const uint8_t* b, uint32_t bits) {
  uint32_t whole = bits / 8;
  if (std::memcmp(a, b, whole) != 0) return false;
  uint32_t rest = bits % 8;
  if (rest == 0) return true;
  uint8_t mask = static_cast<uint8_t>(0xff << (8 - rest));
  return (a[whole] & mask) == (b[whole] & mask);
}

}  // namespace

std::optional<IpAddress> IpAddress::parse(std::string_view text) {
  // inet_pton wants a terminated string; the longest IPv6 literal is 45 characters.
  char buffer[INET6_ADDRSTRLEN + 1];
  if (text.empty() || text.size() >= sizeof(buffer)) return std::nullopt;
  std::memcpy(buffer, text.data(), text.size());
  buffer[text.size()] = '\0';
  IpAddress address;
  if (text.find(':') == std::string_view::npos) {
    if (inet_pton(AF_INET, buffer, address.bytes.data()) != 1) return std::nullopt;
    address.family = Family::kV4;
  } else {
    if (inet_pton(AF_INET6, buffer, address.bytes.data()) != 1) return std::nullopt;
    address.family = Family::kV6;
  }
  return address;
}

IpAddress IpAddress::fromV4(const in_addr& addr) {
  IpAddress address;
  address.family = Family::kV4;
  std::memcpy(address.bytes.data(), &addr, 4);
  return address;
}

IpAddress IpAddress::fromV6(const in6_addr& addr) {
  IpAddress address;
  address.family = Family::kV6;
  std::memcpy(address.bytes.data(), &addr, 16);
  return address;
}

IpAddress IpAddress::fromSockaddr(const sockaddr* sa) {
  if (sa == nullptr) return IpAddress{};
  if (sa->sa_family == AF_INET) {
    sockaddr_in v4;
    std::memcpy(&v4, sa, sizeof(v4));
    return fromV4(v4.sin_addr);
  }
  if (sa->sa_family == AF_INET6) {
    sockaddr_in6 v6;
    std::memcpy(&v6, sa, sizeof(v6));
    return fromV6(v6.sin6_addr);
  }
  return IpAddress{};
}

bool IpAddress::isV4Mapped() const {
  return family == Family::kV6 &&
         std::memcmp(bytes.data(), kV4MappedPrefix, sizeof(kV4MappedPrefix)) == 0;
}

std::string IpAddress::toString() const {
  char buffer[INET6_ADDRSTRLEN];
  if (family == Family::kNone) return "";
  int af = family == Family::kV4 ? AF_INET : AF_INET6;
  if (inet_ntop(af, bytes.data(), buffer, sizeof(buffer)) == nullptr) return "";
  return buffer;
}

std::optional<CidrRange> CidrRange::parse(std::string_view text) {
  size_t slash = text.find('/');
  auto address = IpAddress::parse(text.substr(0, slash));
  if (!address) return std::nullopt;
  uint32_t max = address->family == IpAddress::Family::kV4 ? 32 : 128;
  uint32_t length = max;
  if (slash != std::string_view::npos) {
    std::string_view digits = text.substr(slash + 1);
    if (digits.empty() || digits.size() > 3) return std::nullopt;
    auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), length);
    if (ec != std::errc() || end != digits.data() + digits.size() || length > max) {
      return std::nullopt;
    }
  }
  CidrRange range;
  range.base_.family = address->family;
  range.prefix_length_ = static_cast<uint8_t>(length);
  // Keep only the prefix bits.
  for (uint32_t i = 0; i < max / 8; ++i) {
    uint32_t first_bit = i * 8;
    if (first_bit + 8 <= length) {
      range.base_.bytes[i] = address->bytes[i];
    } else if (first_bit < length) {
      range.base_.bytes[i] = address->bytes[i] & static_cast<uint8_t>(0xff << (8 - (length % 8)));
    }
  }
  return range;
}

bool CidrRange::contains(const IpAddress& address) const {
  using Family = IpAddress::Family;
  if (address.family == base_.family) {
    return prefixEqual(address.bytes.data(), base_.bytes.data(), prefix_length_);
  }
  if (base_.family == Family::kV4 && address.isV4Mapped()) {
    return prefixEqual(address.bytes.data() + 12, base_.bytes.data(), prefix_length_);
  }
  if (base_.family == Family::kV6 && address.family == Family::kV4) {
    uint8_t mapped[16];
    std::memcpy(mapped, kV4MappedPrefix, 12);
    std::memcpy(mapped + 12, address.bytes.data(), 4);
    return prefixEqual(mapped, base_.bytes.data(), prefix_length_);
  }
  return false;
}

}  // namespace remora::rbac
