#include "source/interface/network/address.h"

#include <arpa/inet.h>

#include <cstring>

namespace remora::network {

std::optional<Address> Address::fromIpPort(std::string_view ip, uint16_t port) {
  // inet_pton stops at a NUL; text after one must not be ignored silently.
  if (ip.find('\0') != std::string_view::npos) return std::nullopt;
  std::string text(ip);
  Address a;
  auto* v4 = reinterpret_cast<sockaddr_in*>(&a.storage_);
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&a.storage_);
  if (inet_pton(AF_INET, text.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(port);
    a.len_ = sizeof(sockaddr_in);
    return a;
  }
  std::memset(&a.storage_, 0, sizeof(a.storage_));
  if (inet_pton(AF_INET6, text.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(port);
    a.len_ = sizeof(sockaddr_in6);
    return a;
  }
  return std::nullopt;
}

std::optional<Address> Address::fromSockaddr(const ::sockaddr* sa, socklen_t len) {
  Address a;
  if (sa->sa_family == AF_INET && len >= sizeof(sockaddr_in)) {
    std::memcpy(&a.storage_, sa, sizeof(sockaddr_in));
    a.len_ = sizeof(sockaddr_in);
    return a;
  }
  if (sa->sa_family == AF_INET6 && len >= sizeof(sockaddr_in6)) {
    std::memcpy(&a.storage_, sa, sizeof(sockaddr_in6));
    a.len_ = sizeof(sockaddr_in6);
    return a;
  }
  return std::nullopt;
}

std::string Address::ip() const {
  char text[INET6_ADDRSTRLEN] = "";
  if (family() == AF_INET) {
    inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in*>(&storage_)->sin_addr, text,
              sizeof(text));
  } else if (family() == AF_INET6) {
    inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6*>(&storage_)->sin6_addr, text,
              sizeof(text));
  }
  return text;
}

uint16_t Address::port() const {
  if (family() == AF_INET) return ntohs(reinterpret_cast<const sockaddr_in*>(&storage_)->sin_port);
  if (family() == AF_INET6) {
    return ntohs(reinterpret_cast<const sockaddr_in6*>(&storage_)->sin6_port);
  }
  return 0;
}

std::string Address::asString() const {
  if (family() == AF_INET6) return "[" + ip() + "]:" + std::to_string(port());
  return ip() + ":" + std::to_string(port());
}

bool Address::operator==(const Address& other) const {
  return len_ == other.len_ && std::memcmp(&storage_, &other.storage_, len_) == 0;
}

}  // namespace remora::network
