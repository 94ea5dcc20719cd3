// HTTP/1.1 codecs byte by byte, against a fake connection that records what is written.

#include "gtest/gtest.h"
#include "source/common/event/libevent_dispatcher.h"
#include "source/common/http/http1/client_codec.h"
#include "source/common/http/http1/server_codec.h"

namespace remora::http::http1 {
namespace {

class FakeConnection : public network::Connection {
 public:
  explicit FakeConnection(event::Dispatcher& dispatcher) : dispatcher_(dispatcher) {}
  uint64_t id() const override { return 1; }
  event::Dispatcher& dispatcher() override { return dispatcher_; }
  State state() const override { return closed ? State::kClosed : State::kOpen; }
  void addConnectionCallbacks(network::ConnectionCallbacks&) override {}
  void removeConnectionCallbacks(network::ConnectionCallbacks&) override {}
  void addReadFilter(std::shared_ptr<network::ReadFilter>) override {}
  bool initializeReadFilters() override { return true; }
  void startDrain() override {}
  void write(buffer::Instance& data, bool) override {
    written += data.toString();
    data.drain(data.length());
  }
  void close(network::ConnectionCloseType) override { closed = true; }
  void readDisable(bool disable) override { read_disabled += disable ? 1 : -1; }
  bool readEnabled() const override { return read_disabled == 0; }
  void enableHalfClose(bool) override {}
  void setBufferLimits(uint32_t) override {}
  bool aboveHighWatermark() const override { return false; }
  const network::Address& localAddress() const override { return address_; }
  const network::Address& remoteAddress() const override { return address_; }
  uint64_t bytesReceived() const override { return 0; }
  uint64_t bytesSent() const override { return 0; }
  std::string_view failureReason() const override { return ""; }

  std::string written;
  bool closed = false;
  int read_disabled = 0;

 private:
  event::Dispatcher& dispatcher_;
  network::Address address_;
};

// Records one decoded message.
struct Recorder : public StreamDecoder {
  void decodeHeaders(std::unique_ptr<HeaderMap> h, bool end_stream) override {
    headers = std::move(h);
    ended |= end_stream;
  }
  void decodeData(buffer::Instance& data, bool end_stream) override {
    body += data.toString();
    data.drain(data.length());
    ended |= end_stream;
  }
  void decodeTrailers(std::unique_ptr<HeaderMap> t) override {
    trailers = std::move(t);
    ended = true;
  }
  std::unique_ptr<HeaderMap> headers;
  std::unique_ptr<HeaderMap> trailers;
  std::string body;
  bool ended = false;
};

class ServerRecorder : public ServerConnectionCallbacks {
 public:
  StreamDecoder& newStream(ResponseEncoder& encoder) override {
    requests.push_back(std::make_unique<Recorder>());
    encoders.push_back(&encoder);
    return *requests.back();
  }
  std::vector<std::unique_ptr<Recorder>> requests;
  std::vector<ResponseEncoder*> encoders;
};

class Http1CodecTest : public ::testing::Test {
 protected:
  event::LibeventDispatcher dispatcher_{"test"};
  FakeConnection connection_{dispatcher_};
  ServerRecorder callbacks_;
  ServerConnectionImpl server_{connection_, callbacks_, Http1Settings{}};

  std::optional<CodecError> feed(const std::string& bytes, bool one_at_a_time = false) {
    if (!one_at_a_time) {
      buffer::OwnedBuffer data(bytes);
      return server_.dispatch(data);
    }
    for (char c : bytes) {
      buffer::OwnedBuffer data(std::string(1, c));
      if (auto error = server_.dispatch(data)) return error;
    }
    return std::nullopt;
  }
};

TEST_F(Http1CodecTest, OneByteAtATimeGivesTheSameRequest) {
  std::string request =
      "POST /upload?x=1 HTTP/1.1\r\nHost: example.com\r\nTransfer-Encoding: chunked\r\n"
      "X-A: 1\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\nX-Checksum: abc\r\n\r\n";
  ASSERT_FALSE(feed(request, true));
  ASSERT_EQ(callbacks_.requests.size(), 1u);
  auto& r = *callbacks_.requests[0];
  EXPECT_EQ(r.headers->method(), "POST");
  EXPECT_EQ(r.headers->path(), "/upload?x=1");
  EXPECT_EQ(r.headers->authority(), "example.com");
  EXPECT_EQ(r.headers->getOr("x-a", ""), "1");
  EXPECT_FALSE(r.headers->has("host"));
  EXPECT_EQ(r.body, "hello world");
  ASSERT_NE(r.trailers, nullptr);
  EXPECT_EQ(r.trailers->getOr("x-checksum", ""), "abc");
  EXPECT_TRUE(r.ended);
}

TEST_F(Http1CodecTest, AbsoluteFormTargetSetsAuthorityAndScheme) {
  ASSERT_FALSE(feed("GET http://proxy.test:8080/a/b?c HTTP/1.1\r\nHost: other\r\n\r\n"));
  auto& h = *callbacks_.requests[0]->headers;
  EXPECT_EQ(h.authority(), "proxy.test:8080");
  EXPECT_EQ(h.path(), "/a/b?c");
  EXPECT_EQ(h.scheme(), "http");
}

TEST_F(Http1CodecTest, ResponseFraming) {
  ASSERT_FALSE(feed("GET / HTTP/1.1\r\nHost: a\r\n\r\n"));
  HeaderMap response;
  response.add(":status", "200");
  response.add("x-b", "2");
  callbacks_.encoders[0]->encodeHeaders(response, false);
  buffer::OwnedBuffer body("abc");
  callbacks_.encoders[0]->encodeData(body, true);
  EXPECT_EQ(connection_.written,
            "HTTP/1.1 200 OK\r\nx-b: 2\r\ntransfer-encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n");
}

TEST_F(Http1CodecTest, HeadResponseHasNoBodyFraming) {
  ASSERT_FALSE(feed("HEAD / HTTP/1.1\r\nHost: a\r\n\r\n"));
  HeaderMap response;
  response.add(":status", "200");
  response.add("content-length", "10");
  callbacks_.encoders[0]->encodeHeaders(response, true);
  EXPECT_EQ(connection_.written, "HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\n");
}

TEST_F(Http1CodecTest, Http10ResponseClosesTheConnection) {
  ASSERT_FALSE(feed("GET / HTTP/1.0\r\n\r\n"));
  EXPECT_EQ(server_.protocol(), Protocol::kHttp10);
  HeaderMap response;
  response.add(":status", "200");
  callbacks_.encoders[0]->encodeHeaders(response, false);
  buffer::OwnedBuffer body("x");
  callbacks_.encoders[0]->encodeData(body, true);
  EXPECT_EQ(connection_.written, "HTTP/1.0 200 OK\r\nconnection: close\r\n\r\nx");
  EXPECT_TRUE(connection_.closed);
}

TEST_F(Http1CodecTest, PipelinedRequestWaitsForTheFirstResponse) {
  ASSERT_FALSE(feed("GET /1 HTTP/1.1\r\nHost: a\r\n\r\nGET /2 HTTP/1.1\r\nHost: a\r\n\r\n"));
  ASSERT_EQ(callbacks_.requests.size(), 1u) << "the second request must wait";
  HeaderMap response;
  response.add(":status", "204");
  callbacks_.encoders[0]->encodeHeaders(response, true);
  // Parsing resumes on the next loop turn.
  auto stop = dispatcher_.createTimer([this] { dispatcher_.exit(); });
  stop->enable(std::chrono::milliseconds(20));
  dispatcher_.run();
  ASSERT_EQ(callbacks_.requests.size(), 2u);
  EXPECT_EQ(callbacks_.requests[1]->headers->path(), "/2");
}

TEST_F(Http1CodecTest, StrictnessErrors) {
  struct Case {
    const char* request;
    int status;
    const char* details;
  };
  const Case cases[] = {
      {"GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n", 400,
       "http1.both_content_length_and_transfer_encoding"},
      {"GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", 400, nullptr},
      {"GET / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n\r\n", 501,
       "http1.unsupported_transfer_encoding"},
      {"GET / HTTP/1.1\r\nHost: a\r\nX-Folded: a\r\n\tb\r\n\r\n", 400, "http1.obs_fold"},
      {"GET / HTTP/1.1\r\nHost: a\r\nX-Bad: a\x01b\r\n\r\n", 400, nullptr},
      {"GET / HTTP/1.1\r\nHost: a\r\nHost: admin.example.com\r\n\r\n", 400,
       "http1.multiple_host_headers"},
      {"GET http://a/ HTTP/1.1\r\nHost: a\r\nHost: a\r\n\r\n", 400, "http1.multiple_host_headers"},
  };
  for (const auto& c : cases) {
    event::LibeventDispatcher dispatcher("t");
    FakeConnection connection(dispatcher);
    ServerRecorder callbacks;
    ServerConnectionImpl server(connection, callbacks, Http1Settings{});
    buffer::OwnedBuffer data(c.request);
    auto error = server.dispatch(data);
    ASSERT_TRUE(error.has_value()) << c.request;
    EXPECT_EQ(error->http_status, c.status) << c.request;
    if (c.details) {
      EXPECT_EQ(error->details, c.details);
    }
    EXPECT_TRUE(callbacks.requests.empty()) << "a bad request reached the decoder: " << c.request;
  }
}

class ClientRecorder : public ClientConnectionCallbacks {
 public:
  void onGoAway() override { goaway = true; }
  bool goaway = false;
};

TEST(Http1ClientCodecTest, RequestFramingAndResponseParsing) {
  event::LibeventDispatcher dispatcher("t");
  FakeConnection connection(dispatcher);
  ClientRecorder callbacks;
  ClientConnectionImpl client(connection, callbacks, Http1Settings{});
  Recorder response;
  auto& encoder = client.newStream(response);
  EXPECT_FALSE(client.canStartStream());
  HeaderMap request;
  request.add(":method", "POST");
  request.add(":path", "/p");
  request.add(":authority", "up.test");
  encoder.encodeHeaders(request, false);
  buffer::OwnedBuffer body("xyz");
  encoder.encodeData(body, true);
  EXPECT_EQ(connection.written,
            "POST /p HTTP/1.1\r\nhost: up.test\r\ntransfer-encoding: "
            "chunked\r\n\r\n3\r\nxyz\r\n0\r\n\r\n");
  // A 100 Continue first, then a chunked response with a trailer and Connection: close, one
  // byte at a time.
  std::string reply =
      "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\n"
      "Connection: close\r\n\r\n2\r\nok\r\n0\r\nX-T: 1\r\n\r\n";
  for (char c : reply) {
    buffer::OwnedBuffer data(std::string(1, c));
    ASSERT_FALSE(client.dispatch(data));
  }
  ASSERT_NE(response.headers, nullptr);
  EXPECT_EQ(response.headers->status(), 201u);
  EXPECT_EQ(response.body, "ok");
  EXPECT_EQ(response.trailers->getOr("x-t", ""), "1");
  EXPECT_TRUE(callbacks.goaway);
}

TEST(Http1ClientCodecTest, CloseDelimitedBodyEndsAtEndOfStream) {
  event::LibeventDispatcher dispatcher("t");
  FakeConnection connection(dispatcher);
  ClientRecorder callbacks;
  ClientConnectionImpl client(connection, callbacks, Http1Settings{});
  Recorder response;
  HeaderMap request;
  request.add(":method", "GET");
  request.add(":path", "/");
  request.add(":authority", "a");
  client.newStream(response).encodeHeaders(request, true);
  buffer::OwnedBuffer data("HTTP/1.1 200 OK\r\n\r\nuntil close");
  ASSERT_FALSE(client.dispatch(data));
  EXPECT_FALSE(response.ended);
  ASSERT_FALSE(client.dispatchEndOfStream());
  EXPECT_EQ(response.body, "until close");
  EXPECT_TRUE(response.ended);
}

}  // namespace
}  // namespace remora::http::http1
