// Backpressure on ConnectionImpl: write watermarks, nestable readDisable, the read limit.

#include <gtest/gtest.h>
#include <poll.h>

#include "source/common/event/libevent_dispatcher.h"
#include "source/common/network/connection_impl.h"
#include "test/common/network/test_utils.h"

namespace remora::network {
namespace {

using test::LoopbackServer;
using test::runUntil;
using test::ServerEnd;

bool socketWritable(int fd) {
  pollfd p{fd, POLLOUT, 0};
  return ::poll(&p, 1, 0) == 1 && (p.revents & POLLOUT);
}

class FlowControlTest : public testing::Test {
 protected:
  void connect(LoopbackServer& server) {
    client_ = test::makeClient(dispatcher_, server.address());
    ASSERT_TRUE(test::connectClient(dispatcher_, *client_));
    ASSERT_TRUE(runUntil(dispatcher_, [&] { return server.accepted().size() == 1; }));
  }
  void write(std::string_view data) {
    buffer::OwnedBuffer buffer(data);
    client_->connection->write(buffer, false);
  }

  event::LibeventDispatcher dispatcher_{"test"};
  std::unique_ptr<test::ClientEnd> client_;
};

TEST_F(FlowControlTest, WriteWatermarksFireOnceEachAndDataArrivesIntact) {
  LoopbackServer server(dispatcher_);
  connect(server);
  ServerEnd& s = server.only();
  // Small kernel buffers so that the peer not reading stalls the writer within kilobytes.
  test::shrinkSocketBuffers(client_->connection->fd(), 32 * 1024);
  test::shrinkSocketBuffers(s.connection->fd(), 32 * 1024);
  client_->connection->setBufferLimits(64 * 1024);
  s.connection->readDisable(true);

  const std::string payload = test::patternBytes(10 * 1024 * 1024);
  write(payload);
  EXPECT_EQ(client_->callbacks.above_high, 1);
  EXPECT_TRUE(client_->connection->aboveHighWatermark());

  // Run until the kernel stops taking bytes: the writer is now blocked on the peer.
  ASSERT_TRUE(runUntil(dispatcher_, [&] {
    return !socketWritable(client_->connection->fd()) && test::pendingBytes(s.connection->fd()) > 0;
  }));
  EXPECT_EQ(client_->callbacks.above_high, 1);
  EXPECT_EQ(client_->callbacks.below_low, 0);
  EXPECT_LT(client_->connection->bytesSent(), payload.size());
  EXPECT_EQ(s.filter->received.size(), 0u);

  s.connection->readDisable(false);
  ASSERT_TRUE(runUntil(dispatcher_, [&] { return s.filter->received.size() >= payload.size(); }));
  EXPECT_EQ(client_->callbacks.above_high, 1);
  EXPECT_EQ(client_->callbacks.below_low, 1);
  EXPECT_FALSE(client_->connection->aboveHighWatermark());
  EXPECT_EQ(s.filter->received.size(), payload.size());
  EXPECT_TRUE(s.filter->received == payload);
  EXPECT_EQ(client_->connection->bytesSent(), payload.size());
}

TEST_F(FlowControlTest, ReadDisableNests) {
  LoopbackServer server(dispatcher_);
  connect(server);
  ServerEnd& s = server.only();

  s.connection->readDisable(true);
  s.connection->readDisable(true);
  s.connection->readDisable(false);
  EXPECT_FALSE(s.connection->readEnabled());

  write("while paused");
  ASSERT_TRUE(runUntil(dispatcher_, [&] { return test::pendingBytes(s.connection->fd()) == 12; }));
  test::runLoopTurns(dispatcher_, 5);
  EXPECT_EQ(s.filter->received, "");
  EXPECT_EQ(s.connection->bytesReceived(), 0u);

  s.connection->readDisable(false);
  EXPECT_TRUE(s.connection->readEnabled());
  ASSERT_TRUE(runUntil(dispatcher_, [&] { return s.filter->received == "while paused"; }));
  // An unmatched enable is ignored rather than making the count negative.
  s.connection->readDisable(false);
  s.connection->readDisable(true);
  EXPECT_FALSE(s.connection->readEnabled());
}

TEST_F(FlowControlTest, BytesBufferedWhileDisabledAreDeliveredOnReenable) {
  LoopbackServer server(dispatcher_);
  connect(server);
  ServerEnd& s = server.only();
  // The filter first leaves the bytes in the read buffer (kStop), then reading is paused.
  s.filter->drain = false;
  write("buffered");
  ASSERT_TRUE(runUntil(dispatcher_, [&] { return s.filter->last_buffer_length == 8; }));
  s.connection->readDisable(true);
  s.filter->drain = true;
  int calls = s.filter->data_calls;

  s.connection->readDisable(false);
  EXPECT_EQ(s.filter->data_calls, calls) << "resumed data must not be delivered re-entrantly";
  ASSERT_TRUE(runUntil(dispatcher_, [&] { return s.filter->received == "buffered"; }));
}

TEST_F(FlowControlTest, ReadBufferLimitBoundsHowMuchIsRead) {
  constexpr uint32_t kLimit = 16 * 1024;
  LoopbackServer server(dispatcher_, [&](ServerEnd& end) {
    end.connection->setBufferLimits(kLimit);
    end.filter->drain = false;
  });
  connect(server);
  ServerEnd& s = server.only();

  const std::string payload = test::patternBytes(1024 * 1024);
  write(payload);
  ASSERT_TRUE(runUntil(dispatcher_, [&] { return s.connection->bytesReceived() >= kLimit; }));
  // More is waiting in the kernel, yet the connection reads no further.
  ASSERT_TRUE(runUntil(dispatcher_, [&] { return test::pendingBytes(s.connection->fd()) > 0; }));
  uint64_t received = s.connection->bytesReceived();
  test::runLoopTurns(dispatcher_, 10);
  EXPECT_EQ(s.connection->bytesReceived(), received);
  // One read chunk of overshoot at most.
  EXPECT_LE(received, kLimit + 64 * 1024);
  EXPECT_EQ(s.filter->last_buffer_length, received);

  // Once the filter consumes, a pause and resume re-delivers the held bytes (continueReading()
  // would resume after this filter, the only one) and reading goes on.
  s.filter->drain = true;
  s.connection->readDisable(true);
  s.connection->readDisable(false);
  ASSERT_TRUE(runUntil(dispatcher_, [&] { return s.filter->received.size() == payload.size(); }));
  EXPECT_TRUE(s.filter->received == payload);
}

}  // namespace
}  // namespace remora::network
