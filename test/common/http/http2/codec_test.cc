// HTTP/2 codecs byte by byte: a client codec and a server codec wired back to back, and raw
// frames from a hand-driven nghttp2 client session for what a well-behaved client never sends.

#include "source/common/http/http2/codec_impl.h"

#include <nghttp2/nghttp2.h>

#include <map>

#include "gtest/gtest.h"
#include "source/common/event/libevent_dispatcher.h"

namespace remora::http::http2 {
namespace {

// Records what the codec writes; the test moves it to the peer.
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
  void readDisable(bool) override {}
  bool readEnabled() const override { return true; }
  void enableHalfClose(bool) override {}
  void setBufferLimits(uint32_t) override {}
  bool aboveHighWatermark() const override { return false; }
  const network::Address& localAddress() const override { return address_; }
  const network::Address& remoteAddress() const override { return address_; }
  uint64_t bytesReceived() const override { return 0; }
  uint64_t bytesSent() const override { return 0; }
  std::string_view failureReason() const override { return ""; }

  // Hands over everything written so far.
  std::string take() { return std::exchange(written, ""); }

  std::string written;
  bool closed = false;

 private:
  event::Dispatcher& dispatcher_;
  network::Address address_;
};

struct Recorder : public StreamDecoder, public StreamCallbacks {
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
  void onResetStream(StreamResetReason r, std::string_view) override { reset = r; }
  std::unique_ptr<HeaderMap> headers;
  std::unique_ptr<HeaderMap> trailers;
  std::string body;
  bool ended = false;
  std::optional<StreamResetReason> reset;
};

class ServerRecorder : public ServerConnectionCallbacks {
 public:
  StreamDecoder& newStream(ResponseEncoder& encoder) override {
    requests.push_back(std::make_unique<Recorder>());
    encoders.push_back(&encoder);
    encoder.stream().addCallbacks(*requests.back());
    return *requests.back();
  }
  std::vector<std::unique_ptr<Recorder>> requests;
  std::vector<ResponseEncoder*> encoders;
};

class ClientRecorder : public ClientConnectionCallbacks {
 public:
  void onGoAway() override { goaways++; }
  int goaways = 0;
};

HeaderMap request(std::string_view method, std::string_view path) {
  HeaderMap h;
  h.add(":method", method);
  h.add(":scheme", "http");
  h.add(":authority", "example.com");
  h.add(":path", path);
  return h;
}

HeaderMap status(std::string_view code) {
  HeaderMap h;
  h.add(":status", code);
  return h;
}

class Http2CodecTest : public ::testing::Test {
 protected:
  // Moves bytes both ways until neither side has anything more to say.
  void pump() {
    for (int i = 0; i < 100; ++i) {
      std::string to_server = client_conn_.take();
      std::string to_client = server_conn_.take();
      if (to_server.empty() && to_client.empty()) return;
      if (!to_server.empty()) {
        buffer::OwnedBuffer data(to_server);
        server_error_ = server_.dispatch(data);
      }
      if (!to_client.empty()) {
        buffer::OwnedBuffer data(to_client);
        client_error_ = client_.dispatch(data);
      }
    }
    FAIL() << "the codecs never went quiet";
  }

  event::LibeventDispatcher dispatcher_{"test"};
  FakeConnection client_conn_{dispatcher_};
  FakeConnection server_conn_{dispatcher_};
  ServerRecorder server_callbacks_;
  ClientRecorder client_callbacks_;
  Http2Settings settings_;
  ServerConnectionImpl server_{server_conn_, server_callbacks_, settings_};
  ClientConnectionImpl client_{client_conn_, client_callbacks_, settings_};
  std::optional<CodecError> server_error_;
  std::optional<CodecError> client_error_;
};

TEST_F(Http2CodecTest, RequestAndResponseRoundTrip) {
  Recorder response;
  RequestEncoder& encoder = client_.newStream(response);
  encoder.encodeHeaders(request("GET", "/a?b=c"), true);
  pump();
  ASSERT_EQ(server_callbacks_.requests.size(), 1u);
  auto& got = *server_callbacks_.requests[0];
  ASSERT_TRUE(got.headers);
  EXPECT_TRUE(got.ended);
  EXPECT_EQ(got.headers->method(), "GET");
  EXPECT_EQ(got.headers->path(), "/a?b=c");
  EXPECT_EQ(got.headers->authority(), "example.com");
  EXPECT_EQ(got.headers->scheme(), "http");

  HeaderMap head = status("200");
  head.add("content-type", "text/plain");
  server_callbacks_.encoders[0]->encodeHeaders(head, false);
  buffer::OwnedBuffer body("hello");
  server_callbacks_.encoders[0]->encodeData(body, true);
  pump();
  ASSERT_TRUE(response.headers);
  EXPECT_EQ(response.headers->status(), 200u);
  EXPECT_EQ(response.headers->getOr("content-type", ""), "text/plain");
  EXPECT_EQ(response.body, "hello");
  EXPECT_TRUE(response.ended);
  EXPECT_FALSE(server_error_);
  EXPECT_FALSE(client_error_);
}

TEST_F(Http2CodecTest, BodiesInPiecesAndTrailersBothWays) {
  Recorder response;
  RequestEncoder& encoder = client_.newStream(response);
  encoder.encodeHeaders(request("POST", "/upload"), false);
  std::string sent;
  for (int i = 0; i < 5; ++i) {
    std::string piece(10000 + i, static_cast<char>('a' + i));
    sent += piece;
    buffer::OwnedBuffer data(piece);
    encoder.encodeData(data, false);
    pump();
  }
  HeaderMap request_trailers;
  request_trailers.add("x-checksum", "42");
  encoder.encodeTrailers(request_trailers);
  pump();
  auto& got = *server_callbacks_.requests[0];
  EXPECT_EQ(got.body, sent);
  ASSERT_TRUE(got.trailers);
  EXPECT_EQ(got.trailers->getOr("x-checksum", ""), "42");
  EXPECT_TRUE(got.ended);

  // As gRPC answers: headers, a message, then grpc-status in trailers.
  HeaderMap head = status("200");
  head.add("content-type", "application/grpc");
  server_callbacks_.encoders[0]->encodeHeaders(head, false);
  buffer::OwnedBuffer message(std::string("\0\0\0\0\2hi", 7));
  server_callbacks_.encoders[0]->encodeData(message, false);
  HeaderMap trailers;
  trailers.add("grpc-status", "0");
  trailers.add("grpc-message", "ok");
  server_callbacks_.encoders[0]->encodeTrailers(trailers);
  pump();
  EXPECT_EQ(response.body, std::string("\0\0\0\0\2hi", 7));
  ASSERT_TRUE(response.trailers);
  EXPECT_EQ(response.trailers->getOr("grpc-status", ""), "0");
  EXPECT_EQ(response.trailers->getOr("grpc-message", ""), "ok");
  EXPECT_TRUE(response.ended);
}

TEST_F(Http2CodecTest, ConcurrentStreamsGetTheirOwnResponses) {
  constexpr int kStreams = 20;
  std::vector<std::unique_ptr<Recorder>> responses;
  for (int i = 0; i < kStreams; ++i) {
    responses.push_back(std::make_unique<Recorder>());
    client_.newStream(*responses.back())
        .encodeHeaders(request("GET", "/" + std::to_string(i)), true);
  }
  pump();
  ASSERT_EQ(server_callbacks_.requests.size(), static_cast<size_t>(kStreams));
  EXPECT_EQ(client_.activeStreams(), static_cast<uint32_t>(kStreams));
  // Answered in reverse order, each with its own path as the body.
  for (int i = kStreams - 1; i >= 0; --i) {
    server_callbacks_.encoders[i]->encodeHeaders(status("200"), false);
    buffer::OwnedBuffer body(std::string(server_callbacks_.requests[i]->headers->path()));
    server_callbacks_.encoders[i]->encodeData(body, true);
  }
  pump();
  for (int i = 0; i < kStreams; ++i) {
    EXPECT_EQ(responses[i]->body, "/" + std::to_string(i));
    EXPECT_TRUE(responses[i]->ended);
  }
}

TEST_F(Http2CodecTest, ServerGoAwayStopsNewClientStreams) {
  Recorder response;
  client_.newStream(response).encodeHeaders(request("GET", "/"), true);
  pump();
  EXPECT_TRUE(client_.canStartStream());
  server_.goAway();
  pump();
  EXPECT_EQ(client_callbacks_.goaways, 1);
  EXPECT_FALSE(client_.canStartStream());
  // The stream already accepted still completes.
  server_callbacks_.encoders[0]->encodeHeaders(status("204"), true);
  pump();
  EXPECT_TRUE(response.ended);
  EXPECT_FALSE(response.reset);
}

TEST_F(Http2CodecTest, ServerResetReachesTheClientStream) {
  Recorder response;
  RequestEncoder& encoder = client_.newStream(response);
  encoder.encodeHeaders(request("GET", "/"), true);
  encoder.stream().addCallbacks(response);
  pump();
  server_callbacks_.encoders[0]->stream().resetStream(StreamResetReason::kLocalReset);
  pump();
  ASSERT_TRUE(response.reset);
  EXPECT_EQ(*response.reset, StreamResetReason::kRemoteReset);
  EXPECT_EQ(client_.activeStreams(), 0u);
}

// A raw nghttp2 client session: frames are serialized with nghttp2 and fed to the server
// codec; the server's bytes are parsed back to see which frames it sent.
class RawClient {
 public:
  RawClient() {
    nghttp2_session_callbacks* callbacks;
    nghttp2_session_callbacks_new(&callbacks);
    nghttp2_session_callbacks_set_on_frame_recv_callback(
        callbacks, [](nghttp2_session*, const nghttp2_frame* frame, void* user) {
          auto* self = static_cast<RawClient*>(user);
          self->frames[frame->hd.type]++;
          if (frame->hd.type == NGHTTP2_RST_STREAM) {
            self->resets[frame->hd.stream_id] = frame->rst_stream.error_code;
          }
          if (frame->hd.type == NGHTTP2_WINDOW_UPDATE) {
            self->window_updates[frame->hd.stream_id] += frame->window_update.window_size_increment;
          }
          if (frame->hd.type == NGHTTP2_SETTINGS && !(frame->hd.flags & NGHTTP2_FLAG_ACK)) {
            for (size_t i = 0; i < frame->settings.niv; ++i) {
              self->settings[frame->settings.iv[i].settings_id] = frame->settings.iv[i].value;
            }
          }
          if (frame->hd.type == NGHTTP2_HEADERS) self->responses++;
          return 0;
        });
    nghttp2_option* option;
    nghttp2_option_new(&option);
    // Let the test break the rules the library would otherwise enforce on it.
    nghttp2_option_set_no_http_messaging(option, 1);
    nghttp2_session_client_new2(&session, callbacks, this, option);
    nghttp2_option_del(option);
    nghttp2_session_callbacks_del(callbacks);
    nghttp2_submit_settings(session, NGHTTP2_FLAG_NONE, nullptr, 0);
  }
  ~RawClient() { nghttp2_session_del(session); }

  // Everything queued, as bytes.
  std::string bytes() {
    std::string out;
    const uint8_t* data;
    ssize_t n;
    while ((n = nghttp2_session_mem_send(session, &data)) > 0) {
      out.append(reinterpret_cast<const char*>(data), static_cast<size_t>(n));
    }
    return out;
  }
  void receive(const std::string& bytes) {
    nghttp2_session_mem_recv(session, reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
  }
  int32_t get(const std::string& path, std::vector<nghttp2_nv> extra = {}, bool end_stream = true) {
    std::vector<nghttp2_nv> nv = {nv_(":method", "GET"), nv_(":scheme", "http"),
                                  nv_(":authority", "example.com"), nv_(":path", path)};
    nv.insert(nv.end(), extra.begin(), extra.end());
    return nghttp2_submit_headers(session, end_stream ? NGHTTP2_FLAG_END_STREAM : 0, -1, nullptr,
                                  nv.data(), nv.size(), nullptr);
  }
  static nghttp2_nv nv_(const std::string& name, const std::string& value) {
    // Views into strings the caller keeps alive until bytes() is called.
    static std::vector<std::unique_ptr<std::string>> keep;
    keep.push_back(std::make_unique<std::string>(name));
    auto* n = keep.back().get();
    keep.push_back(std::make_unique<std::string>(value));
    auto* v = keep.back().get();
    return {reinterpret_cast<uint8_t*>(n->data()), reinterpret_cast<uint8_t*>(v->data()), n->size(),
            v->size(), NGHTTP2_NV_FLAG_NONE};
  }

  nghttp2_session* session = nullptr;
  std::map<uint8_t, int> frames;
  std::map<int32_t, uint32_t> resets;
  std::map<int32_t, int64_t> window_updates;
  std::map<int32_t, uint32_t> settings;
  int responses = 0;
};

class Http2ServerFramesTest : public ::testing::Test {
 protected:
  // Feeds the client's queued frames to the server, and the server's answer back.
  std::optional<CodecError> exchange() {
    std::string bytes = client_.bytes();
    std::optional<CodecError> error;
    if (!bytes.empty()) {
      buffer::OwnedBuffer data(bytes);
      error = server_.dispatch(data);
    }
    client_.receive(conn_.take());
    return error;
  }

  event::LibeventDispatcher dispatcher_{"test"};
  FakeConnection conn_{dispatcher_};
  ServerRecorder callbacks_;
  Http2Settings settings_ = [] {
    Http2Settings s;
    s.max_concurrent_streams = 5;
    s.initial_stream_window_size = 65535;
    s.max_header_list_size = 4096;
    s.reset_burst = 20;
    s.reset_rate = 1;
    return s;
  }();
  ServerConnectionImpl server_{conn_, callbacks_, settings_};
  RawClient client_;
};

TEST_F(Http2ServerFramesTest, BadPrefaceIsACodecError) {
  buffer::OwnedBuffer data("GET / HTTP/1.1\r\nHost: a\r\n\r\nxxxxxxxxxxxxxxxxxxxxxxxx");
  EXPECT_TRUE(server_.dispatch(data).has_value());
}

TEST_F(Http2ServerFramesTest, SettingsAdvertiseTheLimits) {
  EXPECT_FALSE(exchange());
  EXPECT_EQ(client_.settings[NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS], 5u);
  EXPECT_EQ(client_.settings[NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE], 65535u);
  EXPECT_EQ(client_.settings[NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE], 4096u);
}

TEST_F(Http2ServerFramesTest, StreamsBeyondTheLimitAreRefused) {
  // Sent before the client has seen the server's SETTINGS (so its library does not hold the
  // sixth back); the server enforces the limit it announced from the start.
  std::vector<int32_t> ids;
  for (int i = 0; i < 6; ++i) ids.push_back(client_.get("/hang", {}, false));
  exchange();
  EXPECT_EQ(callbacks_.requests.size(), 5u);
  ASSERT_EQ(client_.resets.size(), 1u);
  EXPECT_EQ(client_.resets.begin()->first, ids.back());
  EXPECT_EQ(client_.resets.begin()->second, static_cast<uint32_t>(NGHTTP2_REFUSED_STREAM));
}

TEST_F(Http2ServerFramesTest, OversizedHeaderListResetsOnlyThatStream) {
  exchange();
  exchange();
  int32_t big = client_.get("/big", {RawClient::nv_("x-big", std::string(8000, 'a'))});
  int32_t small = client_.get("/small");
  EXPECT_FALSE(exchange());
  // The oversized stream's headers never reach the application (its stream is reset); the
  // other one's do.
  std::vector<std::string> decoded;
  for (const auto& r : callbacks_.requests) {
    if (r->headers) decoded.emplace_back(r->headers->path());
  }
  EXPECT_EQ(decoded, std::vector<std::string>{"/small"});
  ASSERT_EQ(client_.resets.count(big), 1u) << "the oversized stream was not reset";
  EXPECT_EQ(client_.resets.count(small), 0u);
}

TEST_F(Http2ServerFramesTest, RapidResetFloodEndsInGoAway) {
  exchange();
  exchange();
  std::optional<CodecError> error;
  for (int i = 0; i < 200 && !error; ++i) {
    int32_t id = client_.get("/x");
    client_.bytes();  // HEADERS must leave before the RST_STREAM that cancels it
    nghttp2_submit_rst_stream(client_.session, NGHTTP2_FLAG_NONE, id, NGHTTP2_CANCEL);
    error = exchange();
  }
  EXPECT_GT(client_.frames[NGHTTP2_GOAWAY], 0) << "no GOAWAY after 200 rapid resets";
}

TEST_F(Http2ServerFramesTest, ReadDisabledStreamGetsNoWindowBack) {
  exchange();
  exchange();
  int32_t id = client_.get("/upload", {}, false);
  exchange();
  ASSERT_EQ(callbacks_.encoders.size(), 1u);
  callbacks_.encoders[0]->stream().readDisable(true);
  // 40 KB of DATA: the stream's window must not be returned while reads are disabled.
  std::string payload(40000, 'd');
  nghttp2_data_provider provider;
  struct Source {
    std::string* bytes;
    size_t offset = 0;
  } source{&payload};
  provider.source.ptr = &source;
  provider.read_callback = [](nghttp2_session*, int32_t, uint8_t* buf, size_t length,
                              uint32_t* flags, nghttp2_data_source* src, void*) -> ssize_t {
    auto* s = static_cast<Source*>(src->ptr);
    size_t n = std::min(length, s->bytes->size() - s->offset);
    memcpy(buf, s->bytes->data() + s->offset, n);
    s->offset += n;
    if (s->offset == s->bytes->size()) *flags |= NGHTTP2_DATA_FLAG_EOF;
    return static_cast<ssize_t>(n);
  };
  nghttp2_submit_data(client_.session, NGHTTP2_FLAG_END_STREAM, id, &provider);
  exchange();
  EXPECT_EQ(callbacks_.requests[0]->body.size(), payload.size());
  EXPECT_EQ(client_.window_updates[id], 0) << "window returned to a stream that is not read";
  callbacks_.encoders[0]->stream().readDisable(false);
  exchange();
  EXPECT_GE(client_.window_updates[id] + client_.window_updates[0], 40000);
  EXPECT_GT(client_.window_updates[id], 0);
}

TEST_F(Http2ServerFramesTest, GoAwayIsSent) {
  exchange();
  server_.goAway();
  client_.receive(conn_.take());
  EXPECT_EQ(client_.frames[NGHTTP2_GOAWAY], 1);
}

}  // namespace
}  // namespace remora::http::http2
