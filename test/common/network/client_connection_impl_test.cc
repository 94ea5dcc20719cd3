// ClientConnectionImpl's connect: success, refusal, timeout, and closing while connecting.

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>

#include "source/common/event/libevent_dispatcher.h"
#include "source/common/network/connection_impl.h"
#include "source/common/stats/store_impl.h"
#include "test/common/network/test_utils.h"

namespace remora::network {
namespace {

using std::chrono::milliseconds;
using test::runUntil;

// A loopback socket bound to a port but not listening: connecting to it is refused, and
// keeping it bound stops anything else from taking the port meanwhile.
class BoundPort {
 public:
  BoundPort() {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    auto any = *Address::fromIpPort("127.0.0.1", 0);
    if (::bind(fd_, any.sockAddr(), any.sockaddrLen()) != 0) std::abort();
    address_ = boundAddress(fd_);
  }
  ~BoundPort() { ::close(fd_); }
  int fd() const { return fd_; }
  const Address& address() const { return address_; }

 private:
  int fd_;
  Address address_;
};

class ClientConnectionImplTest : public testing::Test {
 protected:
  ClientConnectionImplTest() {
    cs_.total = &store_.counter("remora_test_cx_total", "Connections.", {});
    cs_.active = &store_.gauge("remora_test_cx_active", "Open connections.", {});
    cs_.connect_fail = &store_.counter("remora_test_connect_fail_total", "Failures.", {});
    cs_.connect_timeout = &store_.counter("remora_test_connect_timeout_total", "Timeouts.", {});
  }

  std::unique_ptr<test::ClientEnd> client(const Address& to, milliseconds timeout) {
    auto end = test::makeClient(dispatcher_, to, timeout);
    end->connection->setStats(cs_);
    return end;
  }

  event::LibeventDispatcher dispatcher_{"test"};
  stats::StoreImpl store_;
  ConnectionStats cs_;
};

TEST_F(ClientConnectionImplTest, ConnectSucceeds) {
  test::LoopbackServer server(dispatcher_);
  auto c = client(server.address(), milliseconds(5000));
  ASSERT_TRUE(test::connectClient(dispatcher_, *c));
  EXPECT_EQ(c->callbacks.events, std::vector{ConnectionEvent::kConnected});
  EXPECT_EQ(c->connection->failureReason(), "");
  EXPECT_EQ(cs_.connect_fail->value(), 0u);
  EXPECT_EQ(cs_.active->value(), 1);
  EXPECT_EQ(cs_.total->value(), 1u);
}

TEST_F(ClientConnectionImplTest, LocalAddressIsKnownAfterConnect) {
  test::LoopbackServer server(dispatcher_);
  auto c = client(server.address(), milliseconds(5000));
  ASSERT_TRUE(test::connectClient(dispatcher_, *c));
  ASSERT_TRUE(runUntil(dispatcher_, [&] { return server.accepted().size() == 1; }));
  EXPECT_EQ(c->connection->localAddress(), server.only().connection->remoteAddress())
      << "BUG: ClientConnectionImpl passes Address() as the local address and never fills it "
         "in (getsockname) after connecting";
}

TEST_F(ClientConnectionImplTest, RefusedConnectIsARemoteCloseWithReason) {
  BoundPort closed_port;
  auto c = client(closed_port.address(), milliseconds(5000));
  c->connection->connect();
  EXPECT_TRUE(c->callbacks.events.empty()) << "connect() must not call back re-entrantly";
  ASSERT_TRUE(runUntil(dispatcher_, [&] { return c->callbacks.closed(); }));
  EXPECT_EQ(c->callbacks.events, std::vector{ConnectionEvent::kRemoteClose});
  EXPECT_EQ(c->connection->failureReason().rfind("connect failed", 0), 0u)
      << c->connection->failureReason();
  EXPECT_EQ(c->connection->state(), Connection::State::kClosed);
  EXPECT_EQ(cs_.connect_fail->value(), 1u);
  EXPECT_EQ(cs_.connect_timeout->value(), 0u);
  EXPECT_EQ(cs_.active->value(), 0);
}

TEST_F(ClientConnectionImplTest, UnusableAddressFailsOnTheNextLoopTurn) {
  auto c = client(Address(), milliseconds(5000));
  c->connection->connect();
  EXPECT_TRUE(c->callbacks.events.empty());
  ASSERT_TRUE(runUntil(dispatcher_, [&] { return c->callbacks.closed(); }));
  EXPECT_EQ(c->callbacks.events, std::vector{ConnectionEvent::kRemoteClose});
  EXPECT_EQ(c->connection->failureReason().rfind("connect failed", 0), 0u);
  EXPECT_EQ(cs_.connect_fail->value(), 1u);
  EXPECT_EQ(cs_.active->value(), 0);
}

// Starts a non-blocking connect from a raw socket; true once it completed within `timeout`.
bool rawConnect(int fd, const Address& to, milliseconds timeout) {
  if (::connect(fd, to.sockAddr(), to.sockaddrLen()) == 0) return true;
  if (errno != EINPROGRESS) return false;
  pollfd p{fd, POLLOUT, 0};
  if (::poll(&p, 1, static_cast<int>(timeout.count())) != 1) return false;
  int error = 0;
  socklen_t len = sizeof(error);
  ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &len);
  return error == 0;
}

TEST_F(ClientConnectionImplTest, ConnectTimesOutWhenTheBacklogIsFull) {
  // A listener with backlog 0 that never accepts: once its accept queue holds a connection,
  // Linux drops further SYNs, so the next connect stays pending.
  int listen_fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  auto any = *Address::fromIpPort("127.0.0.1", 0);
  ASSERT_EQ(::bind(listen_fd, any.sockAddr(), any.sockaddrLen()), 0);
  ASSERT_EQ(::listen(listen_fd, 0), 0);
  Address target = boundAddress(listen_fd);
  int fillers[2];
  for (int& f : fillers) f = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  ASSERT_TRUE(rawConnect(fillers[0], target, milliseconds(2000)));
  rawConnect(fillers[1], target, milliseconds(100));  // may stay pending; that is fine

  auto c = client(target, milliseconds(200));
  auto start = std::chrono::steady_clock::now();
  c->connection->connect();
  ASSERT_TRUE(runUntil(dispatcher_, [&] { return !c->callbacks.events.empty(); }));
  auto elapsed = std::chrono::steady_clock::now() - start;
  for (int f : fillers) ::close(f);
  ::close(listen_fd);
  if (c->callbacks.saw(ConnectionEvent::kConnected)) {
    GTEST_SKIP() << "this kernel completed a connect to a full backlog-0 listener "
                    "(it did not drop the SYN), so no connect timeout can be provoked";
  }
  EXPECT_EQ(c->callbacks.events.size(), 1u);
  EXPECT_EQ(c->connection->failureReason(), "connect timeout");
  EXPECT_EQ(c->connection->state(), Connection::State::kClosed);
  EXPECT_EQ(cs_.connect_timeout->value(), 1u);
  EXPECT_EQ(cs_.connect_fail->value(), 1u);
  EXPECT_EQ(cs_.active->value(), 0);
  EXPECT_GE(elapsed, milliseconds(190));
  EXPECT_LT(elapsed, milliseconds(2000));
}

TEST_F(ClientConnectionImplTest, ClosingWhileConnectingCountsNoTimeout) {
  test::LoopbackServer server(dispatcher_);
  auto c = client(server.address(), milliseconds(100));
  c->connection->connect();
  c->connection->close(ConnectionCloseType::kNoFlush);
  EXPECT_EQ(c->callbacks.events, std::vector{ConnectionEvent::kLocalClose});
  // The owner may keep a closed connection until its deferred deletion; its connect timer
  // must not fire meanwhile.
  test::runFor(dispatcher_, milliseconds(300));
  EXPECT_EQ(cs_.connect_timeout->value(), 0u)
      << "BUG: closeSocket() leaves ClientConnectionImpl::connect_timer_ armed";
  EXPECT_EQ(cs_.connect_fail->value(), 0u);
  EXPECT_EQ(c->connection->failureReason(), "");
  EXPECT_EQ(c->callbacks.events.size(), 1u);
}

TEST_F(ClientConnectionImplTest, WritesQueuedWhileConnectingAreSentOnceConnected) {
  test::LoopbackServer server(dispatcher_);
  auto c = client(server.address(), milliseconds(5000));
  c->connection->connect();
  buffer::OwnedBuffer early("early bytes");
  c->connection->write(early, false);
  ASSERT_TRUE(runUntil(dispatcher_, [&] {
    return server.accepted().size() == 1 && server.only().filter->received == "early bytes";
  }));
  EXPECT_TRUE(c->callbacks.saw(ConnectionEvent::kConnected));
}

}  // namespace
}  // namespace remora::network
