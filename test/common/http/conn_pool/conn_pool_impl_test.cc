// The connection pool over real loopback connections, with a fake codec whose streams the test
// completes by hand.

#include "source/common/http/conn_pool/conn_pool_impl.h"

#include "gtest/gtest.h"
#include "source/common/event/libevent_dispatcher.h"
#include "source/common/network/raw_transport_socket.h"
#include "source/common/stats/store_impl.h"
#include "test/common/network/test_utils.h"

namespace remora::http {
namespace {

using network::test::LoopbackServer;
using network::test::runUntil;

class FakeStream : public Stream, public RequestEncoder {
 public:
  void addCallbacks(StreamCallbacks& callbacks) override { callbacks_.push_back(&callbacks); }
  void removeCallbacks(StreamCallbacks& callbacks) override { std::erase(callbacks_, &callbacks); }
  void resetStream(StreamResetReason reason) override {
    auto copy = callbacks_;
    for (auto* cb : copy) cb->onResetStream(reason, "");
  }
  void readDisable(bool) override {}
  void encodeHeaders(const HeaderMap&, bool) override {}
  void encodeData(buffer::Instance& data, bool) override { data.drain(data.length()); }
  void encodeTrailers(const HeaderMap&) override {}
  Stream& stream() override { return *this; }

  StreamDecoder* decoder = nullptr;
  std::vector<StreamCallbacks*> callbacks_;
};

// One stream at a time, like HTTP/1.1; the test answers each stream itself.
class FakeCodec : public ClientConnection {
 public:
  explicit FakeCodec(std::vector<FakeCodec*>& registry) { registry.push_back(this); }
  std::optional<CodecError> dispatch(buffer::Instance& data) override {
    data.drain(data.length());
    return std::nullopt;
  }
  std::optional<CodecError> dispatchEndOfStream() override { return std::nullopt; }
  Protocol protocol() const override { return Protocol::kHttp11; }
  void goAway() override {}
  void onUnderlyingConnectionAboveWriteBufferHighWatermark() override {}
  void onUnderlyingConnectionBelowWriteBufferLowWatermark() override {}
  RequestEncoder& newStream(StreamDecoder& decoder) override {
    streams.push_back(std::make_unique<FakeStream>());
    streams.back()->decoder = &decoder;
    active = streams.back().get();
    return *active;
  }
  uint32_t activeStreams() const override { return active ? 1 : 0; }
  bool canStartStream() const override { return active == nullptr; }

  // Completes the active stream's response.
  void respond() {
    auto* stream = active;
    active = nullptr;
    auto headers = std::make_unique<HeaderMap>();
    headers->add(":status", "200");
    stream->decoder->decodeHeaders(std::move(headers), true);
  }

  std::vector<std::unique_ptr<FakeStream>> streams;
  FakeStream* active = nullptr;
  ClientConnectionCallbacks* callbacks = nullptr;
};

class RecordingRequest : public StreamDecoder, public PoolCallbacks {
 public:
  void decodeHeaders(std::unique_ptr<HeaderMap> headers, bool) override {
    status = headers->status();
  }
  void decodeData(buffer::Instance&, bool) override {}
  void decodeTrailers(std::unique_ptr<HeaderMap>) override {}
  void onPoolReady(RequestEncoder&, const upstream::HostConstSharedPtr&) override { ready = true; }
  void onPoolFailure(PoolFailureReason reason, std::string_view,
                     const upstream::HostConstSharedPtr&) override {
    failed = true;
    failure = reason;
  }
  bool ready = false;
  bool failed = false;
  PoolFailureReason failure{};
  uint32_t status = 0;
};

class ConnPoolTest : public ::testing::Test {
 protected:
  std::unique_ptr<ConnPoolImpl> makePool(const network::Address& address, ConnPoolLimits limits) {
    auto host = std::make_shared<upstream::Host>();
    host->address = address;
    return std::make_unique<ConnPoolImpl>(
        dispatcher_, host, Protocol::kHttp11,
        [this, address] {
          return std::make_unique<network::ClientConnectionImpl>(
              dispatcher_, address, std::make_unique<network::RawTransportSocket>(),
              std::chrono::seconds(2));
        },
        [this](network::Connection&, ClientConnectionCallbacks& callbacks) {
          auto codec = std::make_unique<FakeCodec>(codecs_);
          codec->callbacks = &callbacks;
          return codec;
        },
        limits);
  }

  event::LibeventDispatcher dispatcher_{"test"};
  std::vector<FakeCodec*> codecs_;
};

TEST_F(ConnPoolTest, QueuesUntilConnectedThenReusesTheConnection) {
  LoopbackServer server(dispatcher_);
  auto pool = makePool(server.address(), {});
  RecordingRequest first, second;
  EXPECT_NE(pool->newStream(first, first), nullptr);  // queued while connecting
  ASSERT_TRUE(runUntil(dispatcher_, [&] { return first.ready; }));
  EXPECT_EQ(pool->connectionCount(), 1u);
  codecs_[0]->respond();
  EXPECT_EQ(first.status, 200u);
  // The connection is free again: the next request goes straight onto it.
  runUntil(dispatcher_, [&] { return codecs_[0]->canStartStream(); });
  EXPECT_EQ(pool->newStream(second, second), nullptr);
  EXPECT_TRUE(second.ready);
  EXPECT_EQ(pool->connectionCount(), 1u);
}

TEST_F(ConnPoolTest, BusyConnectionsMakeTheQueueOpenMore) {
  LoopbackServer server(dispatcher_);
  auto pool = makePool(server.address(), {});
  RecordingRequest a, b, c;
  pool->newStream(a, a);
  pool->newStream(b, b);
  pool->newStream(c, c);
  EXPECT_EQ(pool->connectionCount(), 3u);
  ASSERT_TRUE(runUntil(dispatcher_, [&] { return a.ready && b.ready && c.ready; }));
}

TEST_F(ConnPoolTest, ConnectionLimitQueuesUntilOneFrees) {
  LoopbackServer server(dispatcher_);
  auto pool = makePool(server.address(),
                       {.max_connections = 1, .max_pending_requests = 10, .connection = {}});
  RecordingRequest a, b;
  pool->newStream(a, a);
  pool->newStream(b, b);
  EXPECT_EQ(pool->connectionCount(), 1u);
  ASSERT_TRUE(runUntil(dispatcher_, [&] { return a.ready; }));
  EXPECT_FALSE(b.ready);
  codecs_[0]->respond();
  ASSERT_TRUE(runUntil(dispatcher_, [&] { return b.ready; }));
}

TEST_F(ConnPoolTest, PendingOverflowFailsAtOnce) {
  LoopbackServer server(dispatcher_);
  auto pool = makePool(server.address(),
                       {.max_connections = 1, .max_pending_requests = 1, .connection = {}});
  RecordingRequest a, b;
  pool->newStream(a, a);
  EXPECT_EQ(pool->newStream(b, b), nullptr);
  EXPECT_TRUE(b.failed);
  EXPECT_EQ(b.failure, PoolFailureReason::kOverflow);
}

TEST_F(ConnPoolTest, ConnectFailureFailsWhatWasQueued) {
  uint16_t port = 0;
  {
    LoopbackServer server(dispatcher_);
    port = server.address().port();
  }
  auto pool = makePool(*network::Address::fromIpPort("127.0.0.1", port), {});
  RecordingRequest a;
  pool->newStream(a, a);
  ASSERT_TRUE(runUntil(dispatcher_, [&] { return a.failed; }));
  EXPECT_EQ(a.failure, PoolFailureReason::kConnectionFailure);
  EXPECT_EQ(pool->connectionCount(), 0u);
}

TEST_F(ConnPoolTest, CancelledRequestsGetNoCallback) {
  LoopbackServer server(dispatcher_);
  auto pool = makePool(server.address(), {});
  RecordingRequest a;
  PendingRequest* pending = pool->newStream(a, a);
  ASSERT_NE(pending, nullptr);
  pending->cancel();
  network::test::runFor(dispatcher_, std::chrono::milliseconds(50));
  EXPECT_FALSE(a.ready);
  EXPECT_FALSE(a.failed);
  EXPECT_EQ(pool->pendingCount(), 0u);
}

TEST_F(ConnPoolTest, MaxRequestsPerConnectionRetiresTheConnection) {
  LoopbackServer server(dispatcher_);
  auto pool = makePool(server.address(), {.connection = {.max_requests = 2}});
  RecordingRequest a, b, c;
  pool->newStream(a, a);
  ASSERT_TRUE(runUntil(dispatcher_, [&] { return a.ready; }));
  codecs_[0]->respond();
  runUntil(dispatcher_, [&] { return codecs_[0]->canStartStream(); });
  pool->newStream(b, b);
  ASSERT_TRUE(b.ready);
  EXPECT_EQ(codecs_.size(), 1u);
  codecs_[0]->respond();
  // Its second request done, the connection closes rather than waiting idle.
  ASSERT_TRUE(runUntil(dispatcher_, [&] { return pool->connectionCount() == 0; }));
  pool->newStream(c, c);
  ASSERT_TRUE(runUntil(dispatcher_, [&] { return c.ready; }));
  EXPECT_EQ(codecs_.size(), 2u);
}

TEST_F(ConnPoolTest, IdleConnectionsCloseAfterTheIdleTimeout) {
  LoopbackServer server(dispatcher_);
  auto pool =
      makePool(server.address(), {.connection = {.idle_timeout = std::chrono::milliseconds(50)}});
  RecordingRequest a;
  pool->newStream(a, a);
  ASSERT_TRUE(runUntil(dispatcher_, [&] { return a.ready; }));
  // Busy connections are never idle, however long the response takes.
  network::test::runFor(dispatcher_, std::chrono::milliseconds(150));
  EXPECT_EQ(pool->connectionCount(), 1u);
  codecs_[0]->respond();
  EXPECT_EQ(pool->connectionCount(), 1u);
  ASSERT_TRUE(runUntil(dispatcher_, [&] { return pool->connectionCount() == 0; }));
}

TEST_F(ConnPoolTest, GoAwayMovesNewStreamsElsewhereAndClosesWhenIdle) {
  LoopbackServer server(dispatcher_);
  auto pool = makePool(server.address(), {});
  RecordingRequest a, b;
  pool->newStream(a, a);
  ASSERT_TRUE(runUntil(dispatcher_, [&] { return a.ready; }));
  codecs_[0]->callbacks->onGoAway();
  pool->newStream(b, b);
  ASSERT_TRUE(runUntil(dispatcher_, [&] { return b.ready; }));
  EXPECT_EQ(codecs_.size(), 2u);
  EXPECT_EQ(pool->connectionCount(), 2u);
  // The stream in flight on the old connection finishes; then that connection goes.
  codecs_[0]->respond();
  EXPECT_EQ(a.status, 200u);
  ASSERT_TRUE(runUntil(dispatcher_, [&] { return pool->connectionCount() == 1; }));
}

TEST_F(ConnPoolTest, DrainClosesIdleConnectionsAndBusyOnesWhenDone) {
  LoopbackServer server(dispatcher_);
  auto pool = makePool(server.address(), {});
  RecordingRequest a, b;
  pool->newStream(a, a);
  pool->newStream(b, b);
  ASSERT_TRUE(runUntil(dispatcher_, [&] { return a.ready && b.ready; }));
  codecs_[0]->respond();
  runUntil(dispatcher_, [&] { return codecs_[0]->canStartStream(); });
  pool->drainConnections();
  ASSERT_TRUE(runUntil(dispatcher_, [&] { return pool->connectionCount() == 1; }));
  codecs_[1]->respond();
  ASSERT_TRUE(runUntil(dispatcher_, [&] { return pool->connectionCount() == 0; }));
}

TEST_F(ConnPoolTest, ClusterBreakersAreSharedByThePoolsOfACluster) {
  LoopbackServer server(dispatcher_);
  stats::StoreImpl store;
  upstream::ResourceLimits limits;
  limits.max_connections = 1;
  limits.max_pending_requests = 1;
  upstream::ResourceManager breakers(limits, "c", store);
  ConnPoolLimits shared{.cluster_connections = &breakers.connections(),
                        .cluster_pending = &breakers.pendingRequests(),
                        .connection = {}};
  auto first = makePool(server.address(), shared);
  auto second = makePool(server.address(), shared);
  RecordingRequest a, b, c;
  first->newStream(a, a);  // takes the cluster's only pending slot and only connection
  EXPECT_EQ(first->connectionCount(), 1u);
  // The second pool may not queue: the cluster's pending breaker is full.
  EXPECT_EQ(second->newStream(b, b), nullptr);
  EXPECT_TRUE(b.failed);
  EXPECT_EQ(b.failure, PoolFailureReason::kOverflow);
  ASSERT_TRUE(runUntil(dispatcher_, [&] { return a.ready; }));
  // Pending slot back; the connection breaker still keeps the second pool from connecting.
  EXPECT_NE(second->newStream(c, c), nullptr);
  EXPECT_EQ(second->connectionCount(), 0u);
  EXPECT_EQ(breakers.connections().count(), 1u);
  first.reset();
  EXPECT_EQ(breakers.connections().count(), 0u);
  second.reset();
  EXPECT_EQ(breakers.pendingRequests().count(), 0u);
}

}  // namespace
}  // namespace remora::http
