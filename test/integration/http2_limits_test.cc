// HTTP/2 limits against the real process, with frames crafted by an nghttp2 client session:
// concurrent streams, header list size, PING floods and the rapid-reset attack.

#include <nghttp2/nghttp2.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <fstream>
#include <map>
#include <thread>

#include "gtest/gtest.h"
#include "test/integration/fake_http_upstream.h"
#include "test/integration/proxy_process.h"

namespace remora::test {
namespace {

using std::chrono::seconds;

std::string config(uint16_t backend) {
  return R"(
admin: {address: {socket_address: {address: 127.0.0.1, port_value: 0}}}
static_resources:
  listeners:
  - name: h2
    address: {socket_address: {address: 127.0.0.1, port_value: 0}}
    filter_chains:
    - filters:
      - name: remora.filters.network.http_connection_manager
        typed_config:
          "@type": type.googleapis.com/remora.extensions.filters.network.http_connection_manager.v1.HttpConnectionManager
          stat_prefix: h2
          http2_protocol_options: {max_concurrent_streams: 10}
          route_config:
            virtual_hosts:
            - {name: all, domains: ["*"], routes: [{match: {prefix: /}, route: {cluster: backend}}]}
          http_filters: [{name: remora.filters.http.router}]
  clusters:
  - name: backend
    load_assignment:
      endpoints:
      - lb_endpoints:
        - endpoint: {address: {socket_address: {address: 127.0.0.1, port_value: )" +
         std::to_string(backend) + "}}}\n";
}

// A client session over a blocking socket; records how each stream ended and any GOAWAY.
class RawH2Client {
 public:
  explicit RawH2Client(uint16_t port) : fd_(connectLoopback(port)) {
    nghttp2_session_callbacks* callbacks;
    nghttp2_session_callbacks_new(&callbacks);
    nghttp2_session_callbacks_set_on_frame_recv_callback(
        callbacks, [](nghttp2_session*, const nghttp2_frame* frame, void* user) {
          auto* self = static_cast<RawH2Client*>(user);
          if (frame->hd.type == NGHTTP2_GOAWAY) {
            self->goaway_error = static_cast<int>(frame->goaway.error_code);
          }
          if (frame->hd.type == NGHTTP2_HEADERS && frame->headers.cat == NGHTTP2_HCAT_RESPONSE) {
            self->responses++;
          }
          return 0;
        });
    nghttp2_session_callbacks_set_on_stream_close_callback(
        callbacks, [](nghttp2_session*, int32_t id, uint32_t error, void* user) {
          static_cast<RawH2Client*>(user)->closed[id] = error;
          return 0;
        });
    nghttp2_session_client_new(&session_, callbacks, this);
    nghttp2_session_callbacks_del(callbacks);
    nghttp2_submit_settings(session_, NGHTTP2_FLAG_NONE, nullptr, 0);
  }
  ~RawH2Client() {
    nghttp2_session_del(session_);
    ::close(fd_);
  }

  int32_t request(const std::string& path, const std::string& big_header = "") {
    std::vector<std::pair<std::string, std::string>> headers = {
        {":method", "GET"}, {":scheme", "http"}, {":authority", "x"}, {":path", path}};
    if (!big_header.empty()) headers.emplace_back("x-big", big_header);
    std::vector<nghttp2_nv> nv;
    for (auto& [n, v] : headers) {
      nv.push_back({reinterpret_cast<uint8_t*>(n.data()), reinterpret_cast<uint8_t*>(v.data()),
                    n.size(), v.size(), NGHTTP2_NV_FLAG_NONE});
    }
    return nghttp2_submit_request(session_, nullptr, nv.data(), nv.size(), nullptr, nullptr);
  }
  void reset(int32_t id) {
    nghttp2_submit_rst_stream(session_, NGHTTP2_FLAG_NONE, id, NGHTTP2_CANCEL);
  }
  // Sends what the session has queued.
  bool flush() {
    const uint8_t* data;
    ssize_t n;
    while ((n = nghttp2_session_mem_send(session_, &data)) > 0) {
      if (!sendAll(fd_, std::string(reinterpret_cast<const char*>(data), n))) return false;
    }
    return true;
  }
  // Reads and processes frames until `done` holds, the peer closes, or the timeout passes.
  bool pump(const std::function<bool()>& done, std::chrono::milliseconds timeout) {
    auto deadline = deadlineIn(timeout);
    char buf[65536];
    while (!done()) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0 || !waitReadable(fd_, left)) return done();
      ssize_t n = ::recv(fd_, buf, sizeof(buf), 0);
      if (n <= 0) {
        peer_closed = true;
        return done();
      }
      nghttp2_session_mem_recv(session_, reinterpret_cast<uint8_t*>(buf), n);
      flush();
    }
    return true;
  }
  int fd() const { return fd_; }

  std::map<int32_t, uint32_t> closed;
  int goaway_error = -1;
  int responses = 0;
  bool peer_closed = false;

 private:
  int fd_;
  nghttp2_session* session_ = nullptr;
};

class Http2LimitsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string error;
    ASSERT_TRUE(proxy_.start(config(upstream_.port()), {"--concurrency", "1"}, error)) << error;
    port_ = proxy_.listenerPort("h2");
  }
  // /hang never answers, so its streams stay open.
  FakeUpstream upstream_{httpServe([](const FakeRequest& r) {
    if (r.requestLine().find("/hang") != std::string::npos) return std::string("HANG");
    return httpResponse(200, "ok");
  })};
  ProxyProcess proxy_;
  uint16_t port_ = 0;
};

TEST_F(Http2LimitsTest, StreamsBeyondTheLimitAreRefused) {
  RawH2Client client(port_);
  // Let the server's SETTINGS (max 10 streams) arrive first, as a real client would.
  client.flush();
  client.pump([] { return false; }, std::chrono::milliseconds(200));
  std::vector<int32_t> ids;
  for (int i = 0; i < 15; ++i) ids.push_back(client.request("/hang"));
  ASSERT_TRUE(client.flush());
  // A well-behaved client library queues streams beyond the limit itself; force them out by
  // checking how many streams actually opened and that none beyond 10 is accepted.
  client.pump([&] { return false; }, std::chrono::milliseconds(300));
  int refused = 0;
  for (auto& [id, error] : client.closed) refused += error == NGHTTP2_REFUSED_STREAM;
  EXPECT_EQ(proxy_.metric("remora_http_downstream_requests_active{stat_prefix=\"h2\"}"), 10.0);
  EXPECT_EQ(refused, 0);  // the client held back streams 11..15 (it honours SETTINGS)
}

TEST_F(Http2LimitsTest, OversizedHeaderListResetsOnlyThatStream) {
  RawH2Client client(port_);
  int32_t big = client.request("/ok", std::string(70 * 1024, 'h'));
  int32_t fine = client.request("/ok");
  ASSERT_TRUE(client.flush());
  ASSERT_TRUE(client.pump([&] { return client.closed.count(big) && client.closed.count(fine); },
                          seconds(5)));
  EXPECT_NE(client.closed[big], 0u) << "oversized headers were accepted";
  EXPECT_EQ(client.closed[fine], 0u);
  EXPECT_EQ(client.responses, 1);
}

TEST_F(Http2LimitsTest, RapidResetFloodEndsTheConnection) {
  RawH2Client client(port_);
  // CVE-2023-44487: open and immediately cancel streams, far faster than a real client would.
  // Each HEADERS must leave before its RST_STREAM (a stream reset before it was sent is
  // simply dropped by the client library).
  for (int i = 0; i < 2000; ++i) {
    int32_t id = client.request("/hang");
    if (!client.flush()) break;
    client.reset(id);
    if (!client.flush()) break;
    if (client.goaway_error >= 0 || client.peer_closed) break;
  }
  ASSERT_TRUE(
      client.pump([&] { return client.goaway_error >= 0 || client.peer_closed; }, seconds(10)))
      << "2000 open-and-cancel streams did not end the connection";
  // nghttp2's reset limiter answers with GOAWAY before closing.
  EXPECT_GE(client.goaway_error, 0);
}

// Sends `frame` over and over without reading; true when the proxy ended the connection.
bool floodEndsConnection(uint16_t port, const std::string& frame) {
  int fd = connectLoopback(port);
  if (fd < 0) return false;
  // Small receive buffer on our side, and we never read: the proxy's acknowledgements pile up
  // until it gives up on us.
  int small = 4096;
  setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
  std::string preface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
  preface += std::string("\x00\x00\x00\x04\x00\x00\x00\x00\x00", 9);  // empty SETTINGS
  sendAll(fd, preface);
  std::string burst;
  for (int i = 0; i < 1000; ++i) burst += frame;
  bool cut_off = false;
  for (int i = 0; i < 500 && !cut_off; ++i) {
    // Non-blocking: once the proxy stops reading (it closed us), sends fail.
    ssize_t n = ::send(fd, burst.data(), burst.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) cut_off = true;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      waitFor([] { return false; }, std::chrono::milliseconds(10));
    }
  }
  // Drain: the connection must end (GOAWAY then close), not stay open.
  bool eof = false;
  recvUntilClosed(fd, seconds(10), &eof);
  ::close(fd);
  return cut_off || eof;
}

TEST_F(Http2LimitsTest, PingFloodFromAPeerThatDoesNotReadEndsTheConnection) {
  EXPECT_TRUE(floodEndsConnection(port_, std::string("\x00\x00\x08\x06\x00\x00\x00\x00\x00"
                                                     "12345678",
                                                     17)));
}

TEST_F(Http2LimitsTest, SettingsFloodFromAPeerThatDoesNotReadEndsTheConnection) {
  // Empty SETTINGS frames, each of which must be acknowledged.
  EXPECT_TRUE(floodEndsConnection(port_, std::string("\x00\x00\x00\x04\x00\x00\x00\x00\x00", 9)));
}

TEST_F(Http2LimitsTest, NormalTrafficAfterAFloodedConnectionIsServed) {
  floodEndsConnection(port_, std::string("\x00\x00\x00\x04\x00\x00\x00\x00\x00", 9));
  // The flood cost one connection; the proxy goes on serving others.
  RawH2Client client(port_);
  int32_t id = client.request("/ok");
  ASSERT_TRUE(client.flush());
  ASSERT_TRUE(client.pump([&] { return client.closed.count(id) > 0; }, seconds(5)));
  EXPECT_EQ(client.closed[id], 0u);
  EXPECT_EQ(client.responses, 1);
}

TEST(Http2FlowControlTest, UploadToAStalledUpstreamKeepsMemoryBounded) {
  // An upstream that accepts the request and then never reads.
  std::atomic<bool> done{false};
  FakeUpstream stalled([&done](int) { waitFor([&] { return done.load(); }, seconds(20)); });
  ProxyProcess proxy;
  std::string error;
  ASSERT_TRUE(proxy.start(config(stalled.port()), {"--concurrency", "1"}, error)) << error;
  uint64_t idle = proxy.residentBytes();
  std::string path = makeTempDir() + "/big.bin";
  {
    std::ofstream out(path, std::ios::binary);
    std::string chunk(1 << 20, 'u');
    for (int i = 0; i < 200; ++i) out << chunk;
  }
  std::string port = std::to_string(proxy.listenerPort("h2"));
  std::thread upload([&] {
    runCommand({"/usr/bin/curl", "-s", "-m", "4", "--http2-prior-knowledge", "--data-binary",
                "@" + path, "http://127.0.0.1:" + port + "/upload"});
  });
  uint64_t peak = 0;
  auto end = deadlineIn(std::chrono::milliseconds(3500));
  while (std::chrono::steady_clock::now() < end) {
    peak = std::max(peak, proxy.residentBytes());
    waitFor([] { return false; }, std::chrono::milliseconds(50));
  }
  // The upload was really under way, and held back: more than the initial windows arrived,
  // far less than was offered.
  auto received = proxy.metric("remora_listener_downstream_received_bytes_total{listener=\"h2\"}");
  done = true;
  upload.join();
  ASSERT_TRUE(received.has_value());
  EXPECT_GT(*received, 256.0 * 1024);
  EXPECT_LT(*received, 100.0 * 1024 * 1024);
  // 200 MB offered; the stream and connection windows plus the upstream socket buffers bound
  // what the proxy holds.
  RecordProperty("idle_rss", std::to_string(idle));
  RecordProperty("peak_rss", std::to_string(peak));
  EXPECT_LT(peak, idle + 24ull * 1024 * 1024) << "idle " << idle << " peak " << peak;
}

}  // namespace
}  // namespace remora::test
