#pragma once

// A scriptable HTTP/1.1 upstream for integration tests: reads each request on a keep-alive
// connection (Content-Length or chunked bodies) and writes whatever the handler returns.

#include <functional>
#include <string>

#include "test/integration/fake_upstream.h"

namespace remora::test {

struct FakeRequest {
  std::string head;  // request line and headers, lowercase names not guaranteed
  std::string body;
  // The value of header `name` (case-insensitive), or "".
  std::string header(const std::string& name) const;
  std::string requestLine() const { return head.substr(0, head.find("\r\n")); }
};

// Returns the raw bytes to send back; an empty string closes the connection without a
// response; "HANG" keeps it open without answering.
using HttpHandler = std::function<std::string(const FakeRequest&)>;

FakeUpstream::ServeFn httpServe(HttpHandler handler);

// "HTTP/1.1 <status> X\r\ncontent-length: N\r\n<extra>\r\n<body>"
std::string httpResponse(int status, const std::string& body, const std::string& extra = "");

}  // namespace remora::test
