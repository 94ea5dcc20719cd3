// LocalAddresses: loopback and unspecified addresses are always local, interface addresses
// after a listing, and a foreign address re-lists at most once per refresh interval.

#include "source/common/network/local_addresses.h"

#include <gtest/gtest.h>

namespace remora::network {
namespace {

Address ip(const char* text, uint16_t port = 0) { return *Address::fromIpPort(text, port); }

TEST(LocalAddressesTest, Loopback) {
  EXPECT_TRUE(isLoopback(ip("127.0.0.1")));
  EXPECT_TRUE(isLoopback(ip("127.0.0.6", 80)));
  EXPECT_TRUE(isLoopback(ip("::1")));
  EXPECT_TRUE(isLoopback(ip("::ffff:127.0.0.1")));
  EXPECT_FALSE(isLoopback(ip("10.0.0.1")));
  EXPECT_FALSE(isLoopback(ip("::ffff:10.0.0.1")));
  EXPECT_FALSE(isLoopback(ip("::")));
  EXPECT_FALSE(isLoopback(Address()));
}

TEST(LocalAddressesTest, InterfaceAddressesWithBoundedRelisting) {
  std::vector<Address> interfaces = {ip("198.18.0.5")};
  int listings = 0;
  auto now = std::chrono::steady_clock::time_point{} + std::chrono::hours(1);
  LocalAddresses local(
      [&] {
        ++listings;
        return interfaces;
      },
      [&] { return now; });
  EXPECT_TRUE(local.isLocal(ip("127.0.0.1", 15001)));
  EXPECT_TRUE(local.isLocal(ip("0.0.0.0", 15001)));
  EXPECT_TRUE(local.isLocal(ip("::", 15001)));
  EXPECT_EQ(listings, 0);  // no listing needed for those
  EXPECT_TRUE(local.isLocal(ip("198.18.0.5", 15006)));
  EXPECT_EQ(listings, 1);
  // Foreign addresses: one listing per interval, however many are asked about.
  for (int i = 0; i < 100; ++i) EXPECT_FALSE(local.isLocal(ip("198.18.0.9", 80)));
  EXPECT_EQ(listings, 1);
  interfaces.push_back(ip("198.18.0.9"));
  EXPECT_FALSE(local.isLocal(ip("198.18.0.9", 80)));  // not yet re-listed
  now += LocalAddresses::kRefreshInterval;
  EXPECT_TRUE(local.isLocal(ip("198.18.0.9", 80)));
  EXPECT_EQ(listings, 2);
  EXPECT_TRUE(local.isLocal(ip("198.18.0.9", 81)));  // known now: no listing
  EXPECT_EQ(listings, 2);
}

TEST(LocalAddressesTest, RealInterfacesIncludeLoopback) {
  bool has_loopback = false;
  for (const auto& address : interfaceAddresses()) has_loopback |= isLoopback(address);
  EXPECT_TRUE(has_loopback);
}

}  // namespace
}  // namespace remora::network
