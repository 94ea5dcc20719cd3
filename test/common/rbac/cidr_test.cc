// IP addresses and CIDR ranges as bytes.

#include "source/common/rbac/cidr.h"

#include <arpa/inet.h>

#include "gtest/gtest.h"

namespace remora::rbac {
namespace {

IpAddress ip(const char* text) {
  auto address = IpAddress::parse(text);
  EXPECT_TRUE(address.has_value()) << text;
  return address.value_or(IpAddress{});
}

CidrRange range(const char* text) {
  auto r = CidrRange::parse(text);
  EXPECT_TRUE(r.has_value()) << text;
  return r.value_or(CidrRange{});
}

TEST(IpAddressTest, Parse) {
  IpAddress v4 = ip("10.1.2.3");
  EXPECT_EQ(v4.family, IpAddress::Family::kV4);
  EXPECT_EQ(v4.bytes[0], 10);
  EXPECT_EQ(v4.bytes[3], 3);
  EXPECT_EQ(v4.toString(), "10.1.2.3");
  IpAddress v6 = ip("fd00::1");
  EXPECT_EQ(v6.family, IpAddress::Family::kV6);
  EXPECT_EQ(v6.bytes[0], 0xfd);
  EXPECT_EQ(v6.bytes[15], 1);
  EXPECT_EQ(v6.toString(), "fd00::1");
  for (const char* bad : {"", "10.1.2", "10.1.2.256", "abc", "[::1]", "::1%eth0", "10.1.2.3:80",
                          " 10.1.2.3", "fd00::1::2"}) {
    EXPECT_FALSE(IpAddress::parse(bad).has_value()) << bad;
  }
  EXPECT_FALSE(IpAddress{}.valid());
  EXPECT_EQ(IpAddress{}.toString(), "");
}

TEST(IpAddressTest, FromKernelStructs) {
  in_addr a4{};
  ASSERT_EQ(inet_pton(AF_INET, "192.168.0.7", &a4), 1);
  EXPECT_EQ(IpAddress::fromV4(a4), ip("192.168.0.7"));
  in6_addr a6{};
  ASSERT_EQ(inet_pton(AF_INET6, "2001:db8::7", &a6), 1);
  EXPECT_EQ(IpAddress::fromV6(a6), ip("2001:db8::7"));

  sockaddr_in sin{};
  sin.sin_family = AF_INET;
  sin.sin_addr = a4;
  EXPECT_EQ(IpAddress::fromSockaddr(reinterpret_cast<sockaddr*>(&sin)), ip("192.168.0.7"));
  sockaddr_in6 sin6{};
  sin6.sin6_family = AF_INET6;
  sin6.sin6_addr = a6;
  EXPECT_EQ(IpAddress::fromSockaddr(reinterpret_cast<sockaddr*>(&sin6)), ip("2001:db8::7"));
  sockaddr unix_family{};
  unix_family.sa_family = AF_UNIX;
  EXPECT_FALSE(IpAddress::fromSockaddr(&unix_family).valid());
  EXPECT_FALSE(IpAddress::fromSockaddr(nullptr).valid());
}

TEST(CidrRangeTest, IPv4) {
  CidrRange r = range("10.1.0.0/16");
  EXPECT_EQ(r.prefixLength(), 16);
  EXPECT_TRUE(r.contains(ip("10.1.0.0")));
  EXPECT_TRUE(r.contains(ip("10.1.255.255")));
  EXPECT_FALSE(r.contains(ip("10.2.0.1")));
  EXPECT_FALSE(r.contains(ip("11.1.0.1")));
  EXPECT_FALSE(r.contains(IpAddress{}));

  CidrRange odd = range("192.168.4.0/22");  // 192.168.4.0 - 192.168.7.255
  EXPECT_TRUE(odd.contains(ip("192.168.7.200")));
  EXPECT_FALSE(odd.contains(ip("192.168.8.1")));
  EXPECT_FALSE(odd.contains(ip("192.168.3.255")));
}

TEST(CidrRangeTest, IPv6) {
  CidrRange r = range("fd00::/8");
  EXPECT_TRUE(r.contains(ip("fd12:3456::1")));
  EXPECT_FALSE(r.contains(ip("fe80::1")));
  EXPECT_FALSE(r.contains(ip("10.0.0.1")));
  CidrRange r65 = range("2001:db8:0:0:8000::/65");
  EXPECT_TRUE(r65.contains(ip("2001:db8::8000:0:0:1")));
  EXPECT_FALSE(r65.contains(ip("2001:db8::1")));
}

TEST(CidrRangeTest, BareAddressesAreHostRanges) {
  CidrRange v4 = range("1.2.3.4");
  EXPECT_EQ(v4.prefixLength(), 32);
  EXPECT_TRUE(v4.contains(ip("1.2.3.4")));
  EXPECT_FALSE(v4.contains(ip("1.2.3.5")));
  CidrRange v6 = range("::1");
  EXPECT_EQ(v6.prefixLength(), 128);
  EXPECT_TRUE(v6.contains(ip("::1")));
  EXPECT_FALSE(v6.contains(ip("::2")));
}

TEST(CidrRangeTest, HostBitsIgnoredAndZeroPrefix) {
  CidrRange r = range("10.1.2.3/16");
  EXPECT_EQ(r.base(), ip("10.1.0.0"));
  EXPECT_TRUE(r.contains(ip("10.1.200.1")));
  CidrRange all4 = range("0.0.0.0/0");
  EXPECT_TRUE(all4.contains(ip("203.0.113.9")));
  EXPECT_FALSE(all4.contains(ip("fd00::1")));
  CidrRange all6 = range("::/0");
  EXPECT_TRUE(all6.contains(ip("fd00::1")));
}

TEST(CidrRangeTest, IPv4MappedAddresses) {
  // A dual-stack listener sees IPv4 peers as ::ffff:a.b.c.d.
  EXPECT_TRUE(range("10.0.0.0/8").contains(ip("::ffff:10.9.8.7")));
  EXPECT_FALSE(range("10.0.0.0/8").contains(ip("::ffff:11.9.8.7")));
  EXPECT_FALSE(range("10.0.0.0/8").contains(ip("::10.9.8.7")));
  EXPECT_TRUE(range("::ffff:10.0.0.0/104").contains(ip("10.9.8.7")));
  EXPECT_FALSE(range("::ffff:10.0.0.0/104").contains(ip("11.9.8.7")));
}

TEST(CidrRangeTest, Invalid) {
  for (const char* bad :
       {"10.0.0.0/33", "fd00::/129", "10.0.0.0/", "/8", "10.0.0/8", "10.0.0.0/8x", "10.0.0.0/-1",
        "10.0.0.0/+8", "10.0.0.0/0008", "10.0.0.0/8/8", "example.com", "", "fd00::/ 8"}) {
    EXPECT_FALSE(CidrRange::parse(bad).has_value()) << bad;
  }
}

}  // namespace
}  // namespace remora::rbac
