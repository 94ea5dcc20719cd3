#include "test/integration/h2c_client.h"

#include <nghttp2/nghttp2.h>
#include <sys/socket.h>
#include <unistd.h>

#include "test/integration/test_net.h"

namespace remora::test {
namespace {

struct Exchange {
  int32_t stream_id = -1;
  bool closed = false;
  H2cResponse response;
};

int onHeader(nghttp2_session*, const nghttp2_frame* frame, const uint8_t* name, size_t name_len,
             const uint8_t* value, size_t value_len, uint8_t, void* user) {
  auto* exchange = static_cast<Exchange*>(user);
  if (frame->hd.stream_id != exchange->stream_id) return 0;
  std::string_view n(reinterpret_cast<const char*>(name), name_len);
  std::string_view v(reinterpret_cast<const char*>(value), value_len);
  if (n == ":status" && exchange->response.status == 0)
    exchange->response.status = std::stoi(std::string(v));
  if (n == "location") exchange->response.location = std::string(v);
  return 0;
}

int onData(nghttp2_session*, uint8_t, int32_t stream_id, const uint8_t* data, size_t len,
           void* user) {
  auto* exchange = static_cast<Exchange*>(user);
  if (stream_id == exchange->stream_id) {
    exchange->response.body.append(reinterpret_cast<const char*>(data), len);
  }
  return 0;
}

int onClose(nghttp2_session*, int32_t stream_id, uint32_t error, void* user) {
  auto* exchange = static_cast<Exchange*>(user);
  if (stream_id == exchange->stream_id) {
    exchange->closed = true;
    exchange->response.reset_error = static_cast<int>(error);
  }
  return 0;
}

bool flush(nghttp2_session* session, int fd) {
  const uint8_t* data;
  ssize_t n;
  while ((n = nghttp2_session_mem_send(session, &data)) > 0) {
    if (!sendAll(fd, std::string(reinterpret_cast<const char*>(data), n))) return false;
  }
  return n == 0;
}

}  // namespace

H2cResponse h2cRequest(uint16_t port,
                       const std::vector<std::pair<std::string, std::string>>& headers,
                       std::chrono::milliseconds timeout) {
  Exchange exchange;
  int fd = connectLoopback(port);
  if (fd < 0) return exchange.response;
  nghttp2_session_callbacks* callbacks;
  nghttp2_session_callbacks_new(&callbacks);
  nghttp2_session_callbacks_set_on_header_callback(callbacks, onHeader);
  nghttp2_session_callbacks_set_on_data_chunk_recv_callback(callbacks, onData);
  nghttp2_session_callbacks_set_on_stream_close_callback(callbacks, onClose);
  nghttp2_session* session;
  nghttp2_session_client_new(&session, callbacks, &exchange);
  nghttp2_session_callbacks_del(callbacks);
  nghttp2_submit_settings(session, NGHTTP2_FLAG_NONE, nullptr, 0);
  std::vector<nghttp2_nv> nv;
  for (const auto& [name, value] : headers) {
    nv.push_back({reinterpret_cast<uint8_t*>(const_cast<char*>(name.data())),
                  reinterpret_cast<uint8_t*>(const_cast<char*>(value.data())), name.size(),
                  value.size(), NGHTTP2_NV_FLAG_NONE});
  }
  exchange.stream_id =
      nghttp2_submit_request(session, nullptr, nv.data(), nv.size(), nullptr, nullptr);
  auto deadline = deadlineIn(timeout);
  bool ok = exchange.stream_id > 0 && flush(session, fd);
  char buffer[65536];
  while (ok && !exchange.closed) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0 || !waitReadable(fd, left)) {
      exchange.response.timed_out = true;
      break;
    }
    ssize_t n = ::recv(fd, buffer, sizeof(buffer), 0);
    if (n <= 0) break;
    if (nghttp2_session_mem_recv(session, reinterpret_cast<uint8_t*>(buffer), n) < 0) break;
    ok = flush(session, fd);
  }
  nghttp2_session_del(session);
  ::close(fd);
  return exchange.response;
}

}  // namespace remora::test
