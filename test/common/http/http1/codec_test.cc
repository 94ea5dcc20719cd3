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

// Upgrade and CONNECT requests: nothing after them is passed on or parsed before their
// response decides whether the tunnel opens (the request smuggling of issue 14).
class Http1TunnelTest : public Http1CodecTest {
 protected:
  static constexpr const char* kUpgradeThenPost =
      "GET /reviews/1 HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n"
      "POST /admin/delete HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\n\r\nok";

  void runLoopTurn() {
    auto stop = dispatcher_.createTimer([this] { dispatcher_.exit(); });
    stop->enable(std::chrono::milliseconds(20));
    dispatcher_.run();
  }
  void respond(int status, bool end_stream = true) {
    HeaderMap response;
    response.add(":status", std::to_string(status));
    if (status == 101) {
      response.add("connection", "upgrade");
      response.add("upgrade", "websocket");
    }
    callbacks_.encoders[0]->encodeHeaders(response, end_stream);
  }
};

TEST_F(Http1TunnelTest, BytesAfterAnUpgradeRequestWaitForItsResponse) {
  ASSERT_FALSE(feed(kUpgradeThenPost));
  ASSERT_EQ(callbacks_.requests.size(), 1u);
  auto& first = *callbacks_.requests[0];
  EXPECT_EQ(first.headers->getOr("upgrade", ""), "websocket");
  EXPECT_FALSE(first.ended) << "a tunnel request stays open until its response decides";
  EXPECT_EQ(first.body, "") << "the pipelined request must not be passed on raw";
  // More bytes while waiting are held too.
  ASSERT_FALSE(feed("GET /x HTTP/1.1\r\nHost: a\r\n\r\n"));
  runLoopTurn();
  EXPECT_EQ(callbacks_.requests.size(), 1u);
  EXPECT_EQ(first.body, "");
}

TEST_F(Http1TunnelTest, DeclinedUpgradeParsesWhatFollowsAsTheNextRequest) {
  for (int status : {200, 400, 403, 426}) {
    event::LibeventDispatcher dispatcher("t");
    FakeConnection connection(dispatcher);
    ServerRecorder callbacks;
    ServerConnectionImpl server(connection, callbacks, Http1Settings{});
    buffer::OwnedBuffer data(kUpgradeThenPost);
    ASSERT_FALSE(server.dispatch(data));
    ASSERT_EQ(callbacks.requests.size(), 1u);
    HeaderMap response;
    response.add(":status", std::to_string(status));
    callbacks.encoders[0]->encodeHeaders(response, true);
    EXPECT_TRUE(callbacks.requests[0]->ended) << status;
    EXPECT_EQ(callbacks.requests[0]->body, "") << status;
    EXPECT_FALSE(connection.closed) << status;
    auto stop = dispatcher.createTimer([&] { dispatcher.exit(); });
    stop->enable(std::chrono::milliseconds(20));
    dispatcher.run();
    ASSERT_EQ(callbacks.requests.size(), 2u) << status;
    auto& second = *callbacks.requests[1];
    EXPECT_EQ(second.headers->method(), "POST");
    EXPECT_EQ(second.headers->path(), "/admin/delete");
    EXPECT_EQ(second.body, "ok");
    EXPECT_TRUE(second.ended);
  }
}

TEST_F(Http1TunnelTest, Only101OpensTheTunnel) {
  ASSERT_FALSE(feed(kUpgradeThenPost));
  auto& first = *callbacks_.requests[0];
  respond(101, false);
  EXPECT_EQ(connection_.written.substr(0, 12), "HTTP/1.1 101");
  EXPECT_EQ(connection_.written.find("transfer-encoding"), std::string::npos);
  // The held bytes go to the tunnel on the next loop turn, then new bytes straight away, in
  // order; none of them is parsed as a request.
  ASSERT_FALSE(feed("more"));
  runLoopTurn();
  ASSERT_FALSE(feed(" raw"));
  EXPECT_EQ(callbacks_.requests.size(), 1u);
  EXPECT_EQ(first.body,
            "POST /admin/delete HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\n\r\nokmore raw");
  buffer::OwnedBuffer echo("from upstream");
  callbacks_.encoders[0]->encodeData(echo, false);
  EXPECT_NE(connection_.written.find("\r\n\r\nfrom upstream"), std::string::npos);
}

TEST_F(Http1TunnelTest, ConnectOpensOnlyOn2xx) {
  ASSERT_FALSE(
      feed("CONNECT db.internal:5432 HTTP/1.1\r\nHost: db.internal:5432\r\n\r\nGET /a "
           "HTTP/1.1\r\nHost: a\r\n\r\n"));
  ASSERT_EQ(callbacks_.requests.size(), 1u);
  auto& h = *callbacks_.requests[0]->headers;
  EXPECT_EQ(h.method(), "CONNECT");
  EXPECT_EQ(h.authority(), "db.internal:5432");
  EXPECT_FALSE(h.has(":path"));
  EXPECT_FALSE(callbacks_.requests[0]->ended);
  respond(403);
  runLoopTurn();
  ASSERT_EQ(callbacks_.requests.size(), 2u);
  EXPECT_EQ(callbacks_.requests[1]->headers->path(), "/a");
}

TEST_F(Http1TunnelTest, UpgradesNotAllowedOrWithABodyAreIgnored) {
  // h2c is not in the allowed list: a plain request, its Upgrade header gone.
  ASSERT_FALSE(
      feed("GET /a HTTP/1.1\r\nHost: a\r\nConnection: Upgrade, HTTP2-Settings\r\n"
           "Upgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQCAAAAAAIAAAAA\r\n\r\n"
           "GET /b HTTP/1.1\r\nHost: a\r\n\r\n"));
  ASSERT_EQ(callbacks_.requests.size(), 1u);
  EXPECT_TRUE(callbacks_.requests[0]->ended);
  EXPECT_FALSE(callbacks_.requests[0]->headers->has("upgrade"));
  respond(101);  // even a (bogus) 101 cannot open a tunnel for it
  runLoopTurn();
  ASSERT_EQ(callbacks_.requests.size(), 2u);
  EXPECT_EQ(callbacks_.requests[1]->headers->path(), "/b");
  EXPECT_EQ(callbacks_.requests[0]->body, "");
}

TEST_F(Http1TunnelTest, UpgradeWithABodyKeepsItsFraming) {
  ASSERT_FALSE(
      feed("POST /a HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n"
           "Transfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n"
           "POST /admin/delete HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n"));
  ASSERT_EQ(callbacks_.requests.size(), 1u);
  auto& first = *callbacks_.requests[0];
  EXPECT_EQ(first.body, "abc");
  EXPECT_TRUE(first.ended);
  EXPECT_FALSE(first.headers->has("upgrade"));
  respond(200);
  runLoopTurn();
  ASSERT_EQ(callbacks_.requests.size(), 2u);
  EXPECT_EQ(callbacks_.requests[1]->headers->path(), "/admin/delete");
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

// The upstream side of a tunnel: raw only after a 101 to an upgrade request.
class Http1ClientTunnelTest : public ::testing::Test {
 protected:
  event::LibeventDispatcher dispatcher_{"t"};
  FakeConnection connection_{dispatcher_};
  ClientRecorder callbacks_;
  ClientConnectionImpl client_{connection_, callbacks_, Http1Settings{}};
  Recorder response_;

  RequestEncoder& sendUpgrade() {
    auto& encoder = client_.newStream(response_);
    HeaderMap request;
    request.add(":method", "GET");
    request.add(":path", "/ws");
    request.add(":authority", "up");
    request.add("connection", "upgrade");
    request.add("upgrade", "websocket");
    encoder.encodeHeaders(request, false);
    return encoder;
  }
  std::optional<CodecError> receive(const std::string& bytes) {
    buffer::OwnedBuffer data(bytes);
    return client_.dispatch(data);
  }
};

TEST_F(Http1ClientTunnelTest, RawBothWaysOnlyAfter101) {
  auto& encoder = sendUpgrade();
  EXPECT_EQ(connection_.written,
            "GET /ws HTTP/1.1\r\nhost: up\r\nconnection: upgrade\r\nupgrade: websocket\r\n\r\n");
  connection_.written.clear();
  buffer::OwnedBuffer early("early");
  encoder.encodeData(early, false);
  EXPECT_EQ(connection_.written, "") << "no tunnel bytes before the upstream agreed";
  ASSERT_FALSE(
      receive("HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\n"
              "Upgrade: websocket\r\n\r\nhello"));
  ASSERT_NE(response_.headers, nullptr);
  EXPECT_EQ(response_.headers->status(), 101u);
  EXPECT_FALSE(response_.ended);
  EXPECT_EQ(response_.body, "hello");
  EXPECT_EQ(connection_.written, "early");
  buffer::OwnedBuffer later("GET / HTTP/1.1\r\n\r\n");  // not framed, not parsed: tunnel bytes
  encoder.encodeData(later, false);
  EXPECT_EQ(connection_.written, "earlyGET / HTTP/1.1\r\n\r\n");
  ASSERT_FALSE(receive("HTTP/1.1 200 OK\r\n\r\n"));
  EXPECT_EQ(response_.body, "helloHTTP/1.1 200 OK\r\n\r\n");
}

TEST_F(Http1ClientTunnelTest, DeclinedUpgradeIsAnOrdinaryResponse) {
  auto& encoder = sendUpgrade();
  connection_.written.clear();
  buffer::OwnedBuffer early("early");
  encoder.encodeData(early, false);
  ASSERT_FALSE(receive("HTTP/1.1 426 Upgrade Required\r\nContent-Length: 2\r\n\r\nno"));
  EXPECT_EQ(response_.headers->status(), 426u);
  EXPECT_EQ(response_.body, "no");
  EXPECT_TRUE(response_.ended);
  buffer::OwnedBuffer end;
  encoder.encodeData(end, true);
  EXPECT_EQ(connection_.written, "") << "held tunnel bytes are dropped when declined";
}

TEST_F(Http1ClientTunnelTest, RawBytesOrA101WithoutAnUpgradeRequestAreErrors) {
  {
    sendUpgrade();
    auto error = receive("\x81\x05hello raw websocket frame without a 101");
    ASSERT_TRUE(error.has_value());
  }
  event::LibeventDispatcher dispatcher("t2");
  FakeConnection connection(dispatcher);
  ClientConnectionImpl client(connection, callbacks_, Http1Settings{});
  Recorder response;
  HeaderMap request;
  request.add(":method", "GET");
  request.add(":path", "/");
  request.add(":authority", "a");
  client.newStream(response).encodeHeaders(request, true);
  buffer::OwnedBuffer data(
      "HTTP/1.1 101 Switching Protocols\r\nConnection: upgrade\r\n"
      "Upgrade: websocket\r\n\r\nraw");
  auto error = client.dispatch(data);
  ASSERT_TRUE(error.has_value());
  EXPECT_EQ(error->details, "http1.unexpected_101");
  EXPECT_EQ(response.body, "");
}

}  // namespace
}  // namespace remora::http::http1
