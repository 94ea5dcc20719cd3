#include "source/common/network/listen_socket.h"

#include <gtest/gtest.h>
#include <sys/resource.h>
#include <sys/socket.h>
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

// A blocking connect to `address`: completes in the kernel's backlog whether or not the
// listener accepts.
int connectBlocking(const Address& address) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  if (::connect(fd, address.sockAddr(), address.sockaddrLen()) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

struct AcceptRecorder {
  std::vector<int> accepted;
  std::vector<std::pair<int, std::chrono::milliseconds>> errors;
  ~AcceptRecorder() {
    for (int fd : accepted) ::close(fd);
  }
  TcpListener::AcceptCb onAccept() {
    return [this](int fd, const Address&, const Address&) { accepted.push_back(fd); };
  }
  TcpListener::AcceptErrorCb onError() {
    return
        [this](int error, std::chrono::milliseconds pause) { errors.emplace_back(error, pause); };
  }
};

TEST(TcpListenerTest, OutOfDescriptorsPausesWithBackoffAndResumes) {
  event::LibeventDispatcher dispatcher("test");
  std::string error;
  int listen_fd = createListenSocket(*Address::fromIpPort("127.0.0.1", 0), false, error);
  ASSERT_GE(listen_fd, 0) << error;
  Address address = boundAddress(listen_fd);
  AcceptRecorder recorder;
  TcpListener listener(dispatcher, listen_fd, recorder.onAccept(), recorder.onError());
  int client = connectBlocking(address);
  ASSERT_GE(client, 0);

  // No descriptor left: the lowest free one becomes the limit.
  rlimit saved{};
  ASSERT_EQ(getrlimit(RLIMIT_NOFILE, &saved), 0);
  int lowest_free = ::dup(0);
  ASSERT_GE(lowest_free, 0);
  ::close(lowest_free);
  rlimit tight = saved;
  tight.rlim_cur = static_cast<rlim_t>(lowest_free);
  ASSERT_EQ(setrlimit(RLIMIT_NOFILE, &tight), 0);

  // Over 300 ms with a connection waiting, accept is tried a handful of times (10, 20, 40, 80,
  // 160 ms apart), not in a loop.
  test::runFor(dispatcher, std::chrono::milliseconds(300));
  ASSERT_EQ(setrlimit(RLIMIT_NOFILE, &saved), 0);
  EXPECT_TRUE(recorder.accepted.empty());
  ASSERT_GE(recorder.errors.size(), 3u);
  EXPECT_LE(recorder.errors.size(), 6u);
  EXPECT_EQ(recorder.errors[0].first, EMFILE);
  EXPECT_EQ(recorder.errors[0].second, std::chrono::milliseconds(10));
  EXPECT_EQ(recorder.errors[1].second, std::chrono::milliseconds(20));
  EXPECT_EQ(recorder.errors[2].second, std::chrono::milliseconds(40));
  EXPECT_TRUE(listener.backingOff());

  // Descriptors are back: the waiting connection is accepted once the pause ends.
  ASSERT_TRUE(test::runUntil(dispatcher, [&] { return recorder.accepted.size() == 1; }));
  EXPECT_FALSE(listener.backingOff());
  ::close(client);
}

TEST(TcpListenerTest, DescriptorOverTheCeilingIsClosedAndAcceptingPauses) {
  event::LibeventDispatcher dispatcher("test");
  std::string error;
  int listen_fd = createListenSocket(*Address::fromIpPort("127.0.0.1", 0), false, error);
  ASSERT_GE(listen_fd, 0) << error;
  Address address = boundAddress(listen_fd);
  AcceptRecorder recorder;
  // Every descriptor is over a ceiling of 1.
  TcpListener listener(dispatcher, listen_fd, recorder.onAccept(), recorder.onError(), 1);
  int first = connectBlocking(address);
  int second = connectBlocking(address);
  ASSERT_GE(first, 0);
  ASSERT_GE(second, 0);

  ASSERT_TRUE(test::runUntil(dispatcher, [&] { return recorder.errors.size() == 1; }));
  EXPECT_EQ(recorder.errors[0].first, EMFILE);
  EXPECT_TRUE(listener.backingOff());
  EXPECT_TRUE(recorder.accepted.empty());
  // The first connection was closed by the proxy side; the second waits in the backlog
  // until the pause ends, and is then closed too.
  char byte;
  EXPECT_EQ(::recv(first, &byte, 1, 0), 0);
  ASSERT_TRUE(test::runUntil(dispatcher, [&] { return recorder.errors.size() == 2; }));
  EXPECT_EQ(recorder.errors[1].second, std::chrono::milliseconds(20));
  EXPECT_EQ(::recv(second, &byte, 1, 0), 0);
  ::close(first);
  ::close(second);
}

}  // namespace
}  // namespace remora::network
