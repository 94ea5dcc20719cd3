#include "source/interface/network/address.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <sys/un.h>

#include <cstring>
#include <string_view>

namespace remora::network {
namespace {

TEST(AddressTest, ParsesAndFormatsIpv4) {
  auto a = Address::fromIpPort("127.0.0.1", 8080);
  ASSERT_TRUE(a.has_value());
  EXPECT_TRUE(a->valid());
  EXPECT_EQ(a->family(), AF_INET);
  EXPECT_EQ(a->ip(), "127.0.0.1");
  EXPECT_EQ(a->port(), 8080);
  EXPECT_EQ(a->asString(), "127.0.0.1:8080");
  EXPECT_EQ(a->sockaddrLen(), sizeof(sockaddr_in));
  const auto* sin = reinterpret_cast<const sockaddr_in*>(a->sockAddr());
  EXPECT_EQ(ntohs(sin->sin_port), 8080);
  EXPECT_EQ(ntohl(sin->sin_addr.s_addr), INADDR_LOOPBACK);
}

TEST(AddressTest, ParsesAndFormatsIpv6WithBrackets) {
  auto a = Address::fromIpPort("::1", 80);
  ASSERT_TRUE(a.has_value());
  EXPECT_EQ(a->family(), AF_INET6);
  EXPECT_EQ(a->ip(), "::1");
  EXPECT_EQ(a->port(), 80);
  EXPECT_EQ(a->asString(), "[::1]:80");
  EXPECT_EQ(a->sockaddrLen(), sizeof(sockaddr_in6));

  auto full = Address::fromIpPort("2001:db8:0:0:0:0:0:1", 443);
  ASSERT_TRUE(full.has_value());
  EXPECT_EQ(full->asString(), "[2001:db8::1]:443");
}

TEST(AddressTest, RejectsWhatIsNotAnIpLiteral) {
  EXPECT_FALSE(Address::fromIpPort("", 80).has_value());
  EXPECT_FALSE(Address::fromIpPort("localhost", 80).has_value());
  EXPECT_FALSE(Address::fromIpPort("256.0.0.1", 80).has_value());
  EXPECT_FALSE(Address::fromIpPort("1.2.3", 80).has_value());
  EXPECT_FALSE(Address::fromIpPort("127.0.0.1:80", 80).has_value());
  // The bracketed form is output only; the parser takes bare literals.
  EXPECT_FALSE(Address::fromIpPort("[::1]", 80).has_value());
  EXPECT_FALSE(Address::fromIpPort("::1::2", 80).has_value());
}

TEST(AddressTest, RejectsTrailingBytesAfterANul) {
  using namespace std::string_view_literals;
  EXPECT_FALSE(Address::fromIpPort("127.0.0.1\0junk"sv, 80).has_value())
      << "BUG: Address::fromIpPort passes std::string(ip).c_str() to inet_pton, so everything "
         "after an embedded NUL is ignored";
}

TEST(AddressTest, PortBounds) {
  EXPECT_EQ(Address::fromIpPort("10.0.0.1", 0)->asString(), "10.0.0.1:0");
  EXPECT_EQ(Address::fromIpPort("10.0.0.1", 65535)->asString(), "10.0.0.1:65535");
}

TEST(AddressTest, DefaultIsInvalid) {
  Address a;
  EXPECT_FALSE(a.valid());
  EXPECT_EQ(a.port(), 0);
  EXPECT_EQ(a.ip(), "");
}

TEST(AddressTest, FromSockaddrCopiesIpv4AndIpv6) {
  sockaddr_in sin{};
  sin.sin_family = AF_INET;
  sin.sin_port = htons(1234);
  ASSERT_EQ(inet_pton(AF_INET, "192.168.1.2", &sin.sin_addr), 1);
  auto a = Address::fromSockaddr(reinterpret_cast<sockaddr*>(&sin), sizeof(sin));
  ASSERT_TRUE(a.has_value());
  EXPECT_EQ(a->asString(), "192.168.1.2:1234");
  EXPECT_EQ(*a, *Address::fromIpPort("192.168.1.2", 1234));

  sockaddr_in6 sin6{};
  sin6.sin6_family = AF_INET6;
  sin6.sin6_port = htons(9);
  ASSERT_EQ(inet_pton(AF_INET6, "fe80::1", &sin6.sin6_addr), 1);
  // A sockaddr_storage-sized length (as accept() reports it) is accepted too.
  sockaddr_storage ss{};
  std::memcpy(&ss, &sin6, sizeof(sin6));
  auto b = Address::fromSockaddr(reinterpret_cast<sockaddr*>(&ss), sizeof(ss));
  ASSERT_TRUE(b.has_value());
  EXPECT_EQ(b->asString(), "[fe80::1]:9");
  EXPECT_EQ(b->sockaddrLen(), sizeof(sockaddr_in6));
}

TEST(AddressTest, FromSockaddrRejectsOtherFamiliesAndShortLengths) {
  sockaddr_un sun{};
  sun.sun_family = AF_UNIX;
  EXPECT_FALSE(Address::fromSockaddr(reinterpret_cast<sockaddr*>(&sun), sizeof(sun)).has_value());

  sockaddr_in sin{};
  sin.sin_family = AF_INET;
  EXPECT_FALSE(
      Address::fromSockaddr(reinterpret_cast<sockaddr*>(&sin), sizeof(sin) - 1).has_value());
}

TEST(AddressTest, Equality) {
  EXPECT_EQ(*Address::fromIpPort("127.0.0.1", 80), *Address::fromIpPort("127.0.0.1", 80));
  EXPECT_FALSE(*Address::fromIpPort("127.0.0.1", 80) == *Address::fromIpPort("127.0.0.1", 81));
  EXPECT_FALSE(*Address::fromIpPort("127.0.0.1", 80) == *Address::fromIpPort("127.0.0.2", 80));
  EXPECT_FALSE(*Address::fromIpPort("::1", 80) == *Address::fromIpPort("127.0.0.1", 80));
  EXPECT_EQ(Address(), Address());
}

}  // namespace
}  // namespace remora::network
