// ConnectionImpl over real loopback sockets: data both ways, half-close, close modes, counters.

#include "source/common/network/connection_impl.h"

#include <gtest/gtest.h>

#include "source/common/event/libevent_dispatcher.h"
#include "source/common/stats/store_impl.h"
#include "test/common/network/test_utils.h"

namespace remora::network {
namespace {

using test::LoopbackServer;
using test::runUntil;
using test::ServerEnd;

class ConnectionImplTest : public testing::Test {
 protected:
  // Connects a client to `server` and waits for the server side to be accepted.
  void connect(LoopbackServer& server) {
    client_ = test::makeClient(dispatcher_, server.address());
    if (client_setup_) client_setup_(*client_->connection);
    ASSERT_TRUE(test::connectClient(dispatcher_, *client_));
    ASSERT_TRUE(runUntil(dispatcher_, [&] { return server.accepted().size() == 1; }));
  }
  void write(Connection& connection, std::string_view data, bool end_stream) {
    buffer::OwnedBuffer buffer(data);
    connection.write(buffer, end_stream);
    EXPECT_EQ(buffer.length(), 0u);
  }

  event::LibeventDispatcher dispatcher_{"test"};
  std::function<void(ClientConnectionImpl&)> client_setup_;
  std::unique_ptr<test::ClientEnd> client_;
};

TEST_F(ConnectionImplTest, ConnectsAndEchoes) {
  LoopbackServer server(dispatcher_, [](ServerEnd& end) { end.filter->echo = true; });
  connect(server);
  EXPECT_EQ(client_->callbacks.events, std::vector{ConnectionEvent::kConnected});
  EXPECT_EQ(client_->connection->state(), Connection::State::kOpen);
  EXPECT_EQ(client_->connection->remoteAddress(), server.address());
  EXPECT_NE(client_->connection->id(), server.only().connection->id());

  write(*client_->connection, "hello", false);
  ASSERT_TRUE(runUntil(dispatcher_, [&] { return client_->filter->received == "hello"; }));
  EXPECT_EQ(server.only().filter->received, "hello");
  EXPECT_EQ(client_->filter->end_stream_calls, 0);
  EXPECT_TRUE(server.only().callbacks.events.empty());
}

TEST_F(ConnectionImplTest, HalfCloseKeepsTheOtherDirectionOpen) {
  client_setup_ = [](ClientConnectionImpl& c) { c.enableHalfClose(true); };
  LoopbackServer server(dispatcher_, [](ServerEnd& end) { end.connection->enableHalfClose(true); });
  connect(server);
  ServerEnd& s = server.only();

  write(*client_->connection, "request", true);
  ASSERT_TRUE(runUntil(dispatcher_, [&] { return s.filter->end_stream_calls == 1; }));
  EXPECT_EQ(s.filter->received, "request");
  EXPECT_EQ(s.connection->state(), Connection::State::kOpen);
  EXPECT_TRUE(s.callbacks.events.empty());
  // The client's write side is shut; later writes are dropped, not sent.
  write(*client_->connection, "dropped", false);

  write(*s.connection, "response", false);
  ASSERT_TRUE(runUntil(dispatcher_, [&] { return client_->filter->received == "response"; }));
  EXPECT_EQ(client_->connection->state(), Connection::State::kOpen);

  write(*s.connection, "!", true);
  ASSERT_TRUE(
      runUntil(dispatcher_, [&] { return s.callbacks.closed() && client_->callbacks.closed(); }));
  EXPECT_EQ(client_->filter->received, "response!");
  EXPECT_EQ(client_->filter->end_stream_calls, 1);
  EXPECT_EQ(s.filter->received, "request");
  EXPECT_EQ(s.connection->state(), Connection::State::kClosed);
  EXPECT_EQ(client_->connection->state(), Connection::State::kClosed);
}

TEST_F(ConnectionImplTest, FinWithoutHalfCloseDeliversDataThenCloses) {
  LoopbackServer server(dispatcher_);
  connect(server);
  ServerEnd& s = server.only();

  write(*client_->connection, "goodbye", true);
  ASSERT_TRUE(runUntil(dispatcher_, [&] { return s.callbacks.closed(); }));
  EXPECT_EQ(s.filter->received, "goodbye");
  // Without half-close a FIN is not end_stream (Connection::enableHalfClose, ReadFilter::onData).
  EXPECT_EQ(s.filter->end_stream_calls, 0)
      << "BUG: ConnectionImpl::onReadReady sets read_end_stream_ before delivering the bytes that "
         "preceded the FIN, so filters get end_stream=true although half-close is off";
  EXPECT_EQ(s.callbacks.events, std::vector{ConnectionEvent::kRemoteClose});
  EXPECT_EQ(s.connection->state(), Connection::State::kClosed);
  // The server closed its socket, which the client (no half-close either) sees as a close.
  ASSERT_TRUE(runUntil(dispatcher_, [&] { return client_->callbacks.closed(); }));
  EXPECT_EQ(client_->callbacks.events.back(), ConnectionEvent::kRemoteClose);
}

TEST_F(ConnectionImplTest, FlushWriteCloseSendsQueuedBytesFirst) {
  LoopbackServer server(dispatcher_);
  connect(server);
  ServerEnd& s = server.only();
  const std::string payload = test::patternBytes(4 * 1024 * 1024);

  write(*client_->connection, payload, false);
  client_->connection->close(ConnectionCloseType::kFlushWrite);
  EXPECT_EQ(client_->connection->state(), Connection::State::kClosing);
  // A closing connection takes no more data.
  write(*client_->connection, "late", false);

  ASSERT_TRUE(
      runUntil(dispatcher_, [&] { return client_->callbacks.closed() && s.callbacks.closed(); }));
  EXPECT_EQ(client_->callbacks.events.back(), ConnectionEvent::kLocalClose);
  EXPECT_EQ(s.callbacks.events, std::vector{ConnectionEvent::kRemoteClose});
  EXPECT_EQ(s.filter->received.size(), payload.size());
  EXPECT_TRUE(s.filter->received == payload);
  EXPECT_EQ(client_->connection->bytesSent(), payload.size());
}

TEST_F(ConnectionImplTest, NoFlushCloseDiscardsQueuedBytes) {
  LoopbackServer server(dispatcher_);
  connect(server);
  ServerEnd& s = server.only();

  // More than loopback socket buffers hold, so some is still queued at close.
  write(*client_->connection, test::patternBytes(32 * 1024 * 1024), false);
  client_->connection->close(ConnectionCloseType::kNoFlush);
  EXPECT_EQ(client_->connection->state(), Connection::State::kClosed);
  EXPECT_EQ(client_->callbacks.events.back(), ConnectionEvent::kLocalClose);

  ASSERT_TRUE(runUntil(dispatcher_, [&] { return s.callbacks.closed(); }));
  // write() sends what the socket takes at once; the rest is discarded by the close.
  EXPECT_LT(client_->connection->bytesSent(), 32u * 1024 * 1024);
  EXPECT_EQ(s.filter->received.size(), client_->connection->bytesSent());
  // Closing again is a no-op and raises nothing.
  client_->connection->close(ConnectionCloseType::kNoFlush);
  EXPECT_EQ(client_->callbacks.events.size(), 2u);
}

TEST_F(ConnectionImplTest, ByteTotalsAndStats) {
  stats::StoreImpl store;
  auto stats_for = [&](const std::string& side) {
    stats::Labels labels{{"side", side}};
    ConnectionStats cs;
    cs.total = &store.counter("remora_test_cx_total", "Connections.", labels);
    cs.active = &store.gauge("remora_test_cx_active", "Open connections.", labels);
    cs.rx_bytes = &store.counter("remora_test_rx_bytes_total", "Received.", labels);
    cs.tx_bytes = &store.counter("remora_test_tx_bytes_total", "Sent.", labels);
    return cs;
  };
  ConnectionStats server_stats = stats_for("server");
  ConnectionStats client_stats = stats_for("client");
  LoopbackServer server(dispatcher_, [&](ServerEnd& end) {
    end.connection->setStats(server_stats);
    end.filter->echo = true;
  });
  client_setup_ = [&](ClientConnectionImpl& c) { c.setStats(client_stats); };
  connect(server);
  ServerEnd& s = server.only();
  EXPECT_EQ(client_stats.total->value(), 1u);
  EXPECT_EQ(client_stats.active->value(), 1);
  EXPECT_EQ(server_stats.total->value(), 1u);
  EXPECT_EQ(server_stats.active->value(), 1);

  const std::string payload = test::patternBytes(300000);
  write(*client_->connection, payload, false);
  ASSERT_TRUE(
      runUntil(dispatcher_, [&] { return client_->filter->received.size() == payload.size(); }));
  EXPECT_TRUE(client_->filter->received == payload);
  EXPECT_EQ(client_->connection->bytesSent(), payload.size());
  EXPECT_EQ(client_->connection->bytesReceived(), payload.size());
  EXPECT_EQ(s.connection->bytesSent(), payload.size());
  EXPECT_EQ(s.connection->bytesReceived(), payload.size());
  EXPECT_EQ(client_stats.tx_bytes->value(), payload.size());
  EXPECT_EQ(client_stats.rx_bytes->value(), payload.size());
  EXPECT_EQ(server_stats.tx_bytes->value(), payload.size());
  EXPECT_EQ(server_stats.rx_bytes->value(), payload.size());

  client_->connection->close(ConnectionCloseType::kNoFlush);
  EXPECT_EQ(client_stats.active->value(), 0);
  ASSERT_TRUE(runUntil(dispatcher_, [&] { return s.callbacks.closed(); }));
  EXPECT_EQ(server_stats.active->value(), 0);
  EXPECT_EQ(server_stats.total->value(), 1u);
}

TEST_F(ConnectionImplTest, DestroyingAnOpenConnectionReleasesItsGauge) {
  stats::StoreImpl store;
  ConnectionStats cs;
  cs.active = &store.gauge("remora_test_cx_active", "Open connections.", {});
  LoopbackServer server(dispatcher_, [&](ServerEnd& end) { end.connection->setStats(cs); });
  connect(server);
  EXPECT_EQ(cs.active->value(), 1);
  server.only().connection.reset();
  EXPECT_EQ(cs.active->value(), 0);
  ASSERT_TRUE(runUntil(dispatcher_, [&] { return client_->callbacks.closed(); }));
}

}  // namespace
}  // namespace remora::network
