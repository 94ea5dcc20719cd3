// How ConnectionImpl runs a chain of read filters: stopping, continuing, closing, end_stream.

#include <gtest/gtest.h>

#include "source/common/event/libevent_dispatcher.h"
#include "source/common/network/connection_impl.h"
#include "test/common/network/test_utils.h"

namespace remora::network {
namespace {

using test::LoopbackServer;
using test::RecordingFilter;
using test::runUntil;
using test::ServerEnd;

// Looks at inbound bytes without consuming them. Returns `status` from onData (and from
// onNewConnection when `stop_on_new_connection`).
class InspectingFilter : public RecordingFilter {
 public:
  ReadFilterStatus onNewConnection() override {
    ++new_connection_calls;
    return stop_on_new_connection ? ReadFilterStatus::kStop : ReadFilterStatus::kContinue;
  }
  ReadFilterStatus onData(buffer::Instance& data, bool end_stream) override {
    ++data_calls;
    if (end_stream) ++end_stream_calls;
    last_buffer_length = data.length();
    seen_bytes += data.length();
    if (close_on_data) callbacks().connection().close(ConnectionCloseType::kNoFlush);
    return status;
  }
  bool stop_on_new_connection = false;
  bool close_on_data = false;
  ReadFilterStatus status = ReadFilterStatus::kContinue;
  size_t seen_bytes = 0;
};

class FilterChainTest : public testing::Test {
 protected:
  // A server whose chain is `inspector_` followed by the recording filter.
  void start(std::function<void(ServerEnd&)> setup = nullptr) {
    server_ = std::make_unique<LoopbackServer>(dispatcher_, [this, setup](ServerEnd& end) {
      if (setup) setup(end);
      end.connection->addReadFilter(inspector_);
    });
    client_ = test::makeClient(dispatcher_, server_->address());
    ASSERT_TRUE(test::connectClient(dispatcher_, *client_));
    ASSERT_TRUE(runUntil(dispatcher_, [&] { return server_->accepted().size() == 1; }));
  }
  void send(std::string_view data, bool end_stream = false) {
    buffer::OwnedBuffer buffer(data);
    client_->connection->write(buffer, end_stream);
  }
  ServerEnd& server() { return server_->only(); }

  event::LibeventDispatcher dispatcher_{"test"};
  std::shared_ptr<InspectingFilter> inspector_ = std::make_shared<InspectingFilter>();
  std::unique_ptr<LoopbackServer> server_;
  std::unique_ptr<test::ClientEnd> client_;
};

TEST_F(FilterChainTest, DataPassesThroughInOrder) {
  start();
  EXPECT_EQ(inspector_->new_connection_calls, 1);
  EXPECT_EQ(server().filter->new_connection_calls, 1);
  send("abc");
  ASSERT_TRUE(runUntil(dispatcher_, [&] { return server().filter->received == "abc"; }));
  EXPECT_EQ(inspector_->seen_bytes, 3u);
}

TEST_F(FilterChainTest, StopOnNewConnectionHoldsBackLaterFilters) {
  inspector_->stop_on_new_connection = true;
  inspector_->status = ReadFilterStatus::kStop;
  start();
  EXPECT_EQ(server().filter->new_connection_calls, 0);
  send("held");
  ASSERT_TRUE(runUntil(dispatcher_, [&] { return inspector_->last_buffer_length == 4; }));
  EXPECT_EQ(server().filter->new_connection_calls, 0);
  EXPECT_EQ(server().filter->received, "");

  inspector_->status = ReadFilterStatus::kContinue;
  inspector_->callbacks().continueReading();
  EXPECT_EQ(server().filter->new_connection_calls, 1);
  EXPECT_EQ(server().filter->received, "held");
}

// continueReading() resumes the chain after the filter that stopped; that filter has already
// seen these bytes and must not be handed them again.
TEST_F(FilterChainTest, ContinueReadingResumesAfterTheStoppingFilter) {
  inspector_->status = ReadFilterStatus::kStop;
  start();
  send("once");
  ASSERT_TRUE(runUntil(dispatcher_, [&] { return inspector_->data_calls == 1; }));
  EXPECT_EQ(server().filter->received, "");

  inspector_->callbacks().continueReading();
  EXPECT_EQ(server().filter->received, "once");
  EXPECT_EQ(inspector_->data_calls, 1)
      << "BUG: ConnectionImpl::continueReading() restarts deliverToFilters() at the first "
         "filter, so the stopping filter sees the same bytes again (seen "
      << inspector_->seen_bytes << " bytes for 4 sent)";
}

TEST_F(FilterChainTest, FilterClosingTheConnectionEndsTheIteration) {
  inspector_->close_on_data = true;
  start();
  send("x");
  ASSERT_TRUE(runUntil(dispatcher_, [&] { return server().callbacks.closed(); }));
  EXPECT_EQ(server().callbacks.events, std::vector{ConnectionEvent::kLocalClose});
  EXPECT_EQ(server().filter->data_calls, 0);
  EXPECT_EQ(server().connection->state(), Connection::State::kClosed);
  ASSERT_TRUE(runUntil(dispatcher_, [&] { return client_->callbacks.closed(); }));
}

// Every filter must learn that the peer finished: a terminal filter such as tcp_proxy behind
// another filter needs end_stream to half-close its upstream.
TEST_F(FilterChainTest, HalfCloseEndStreamReachesEveryFilter) {
  start([](ServerEnd& end) { end.connection->enableHalfClose(true); });
  send("last words", true);
  ASSERT_TRUE(runUntil(dispatcher_, [&] { return inspector_->end_stream_calls == 1; }));
  EXPECT_EQ(server().filter->received, "last words");
  test::runLoopTurns(dispatcher_, 3);
  EXPECT_EQ(server().filter->end_stream_calls, 1)
      << "BUG: ConnectionImpl::deliverToFilters sets read_end_stream_delivered_ while handing "
         "end_stream to the first filter, so later filters never see end_stream=true";
}

}  // namespace
}  // namespace remora::network
