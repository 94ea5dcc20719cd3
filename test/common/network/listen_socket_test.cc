#include "source/common/network/listen_socket.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include "source/common/event/libevent_dispatcher.h"
#include "test/common/network/test_utils.h"

namespace remora::network {
namespace {

using test::ClientEnd;
using test::LoopbackServer;

TEST(ListenSocketTest, BindsPortZeroAndReportsTheRealPort) {
  std::string error;
  int fd = createListenSocket(*Address::fromIpPort("127.0.0.1", 0), false, error);
  ASSERT_GE(fd, 0) << error;
  Address bound = boundAddress(fd);
  EXPECT_TRUE(bound.valid());
  EXPECT_EQ(bound.ip(), "127.0.0.1");
  EXPECT_NE(bound.port(), 0);
  ::close(fd);
}

TEST(ListenSocketTest, AddressInUseNamesTheAddress) {
  std::string error;
  int fd = createListenSocket(*Address::fromIpPort("127.0.0.1", 0), false, error);
  ASSERT_GE(fd, 0) << error;
  Address bound = boundAddress(fd);
  int second = createListenSocket(bound, false, error);
  EXPECT_EQ(second, -1);
  EXPECT_NE(error.find("cannot bind " + bound.asString()), std::string::npos) << error;
  ::close(fd);
}

TEST(ListenSocketTest, ReusePortLetsTwoSocketsShareAnAddress) {
  std::string error;
  int first = createListenSocket(*Address::fromIpPort("127.0.0.1", 0), true, error);
  ASSERT_GE(first, 0) << error;
  int second = createListenSocket(boundAddress(first), true, error);
  EXPECT_GE(second, 0) << error;
  ::close(first);
  if (second >= 0) ::close(second);
}

TEST(ListenSocketTest, Ipv6Loopback) {
  std::string error;
  int fd = createListenSocket(*Address::fromIpPort("::1", 0), false, error);
  if (fd < 0) GTEST_SKIP() << "no IPv6 loopback here: " << error;
  EXPECT_EQ(boundAddress(fd).ip(), "::1");
  ::close(fd);
}

TEST(ListenSocketTest, BoundAddressOfNonSocketIsInvalid) { EXPECT_FALSE(boundAddress(-1).valid()); }

TEST(TcpListenerTest, AcceptsWithAddressesAndPausesWhenDisabled) {
  event::LibeventDispatcher dispatcher("test");
  LoopbackServer server(dispatcher);

  auto first = test::makeClient(dispatcher, server.address());
  ASSERT_TRUE(test::connectClient(dispatcher, *first));
  ASSERT_TRUE(test::runUntil(dispatcher, [&] { return server.accepted().size() == 1; }));
  auto& accepted = *server.accepted()[0]->connection;
  EXPECT_EQ(accepted.localAddress(), server.address());
  EXPECT_EQ(accepted.remoteAddress().ip(), "127.0.0.1");
  EXPECT_NE(accepted.remoteAddress().port(), 0);
  EXPECT_EQ(server.only().filter->new_connection_calls, 1);

  // While disabled the kernel completes handshakes but nothing is accepted.
  server.listener().enable(false);
  auto second = test::makeClient(dispatcher, server.address());
  ASSERT_TRUE(test::connectClient(dispatcher, *second));
  test::runLoopTurns(dispatcher, 5);
  EXPECT_EQ(server.accepted().size(), 1u);

  server.listener().enable(true);
  ASSERT_TRUE(test::runUntil(dispatcher, [&] { return server.accepted().size() == 2; }));
}

}  // namespace
}  // namespace remora::network
