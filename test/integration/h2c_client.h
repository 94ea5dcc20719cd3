#pragma once

// One HTTP/2 (h2c, prior knowledge) request over a fresh loopback connection, sent with
// exactly the pseudo-headers given: nothing is normalized on the way, unlike curl or nghttp,
// so tests can send what a hostile client would. Every wait has a deadline.

#include <chrono>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace remora::test {

struct H2cResponse {
  int status = 0;        // 0: no response headers
  std::string location;  // the location header, if any
  std::string body;
  int reset_error = -1;  // the RST_STREAM / close error code of the stream (0 NO_ERROR)
  bool timed_out = false;
};

// `headers` in order, pseudo-headers first (":method", ":scheme", ":authority", ":path").
H2cResponse h2cRequest(uint16_t port,
                       const std::vector<std::pair<std::string, std::string>>& headers,
                       std::chrono::milliseconds timeout = std::chrono::seconds(5));

}  // namespace remora::test
