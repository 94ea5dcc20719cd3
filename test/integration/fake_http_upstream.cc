#include "test/integration/fake_http_upstream.h"

#include <sys/socket.h>

#include <algorithm>
#include <thread>

#include "test/integration/test_net.h"

namespace remora::test {
namespace {

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

// Reads more bytes into `buffer`; false at EOF or error.
bool readMore(int fd, std::string& buffer) {
  char chunk[65536];
  ssize_t n = ::recv(fd, chunk, sizeof(chunk), 0);
  if (n <= 0) return false;
  buffer.append(chunk, n);
  return true;
}

}  // namespace

std::string FakeRequest::header(const std::string& name) const {
  std::string lowered = lower(head);
  std::string key = "\r\n" + lower(name) + ":";
  size_t at = lowered.find(key);
  if (at == std::string::npos) return "";
  size_t start = at + key.size();
  size_t end = head.find("\r\n", start);
  std::string value = head.substr(start, end - start);
  value.erase(0, value.find_first_not_of(' '));
  return value;
}

std::string httpResponse(int status, const std::string& body, const std::string& extra) {
  return "HTTP/1.1 " + std::to_string(status) +
         " X\r\ncontent-length: " + std::to_string(body.size()) + "\r\n" + extra + "\r\n" + body;
}

FakeUpstream::ServeFn httpServe(HttpHandler handler) {
  return [handler](int fd) {
    std::string buffer;
    while (true) {
      size_t end;
      while ((end = buffer.find("\r\n\r\n")) == std::string::npos) {
        if (!readMore(fd, buffer)) return;
      }
      FakeRequest request;
      request.head = buffer.substr(0, end + 2);
      buffer.erase(0, end + 4);
      std::string length = request.header("content-length");
      if (!length.empty()) {
        size_t n = std::stoul(length);
        while (buffer.size() < n) {
          if (!readMore(fd, buffer)) return;
        }
        request.body = buffer.substr(0, n);
        buffer.erase(0, n);
      } else if (lower(request.header("transfer-encoding")) == "chunked") {
        while (true) {
          size_t line_end;
          while ((line_end = buffer.find("\r\n")) == std::string::npos) {
            if (!readMore(fd, buffer)) return;
          }
          size_t size = std::stoul(buffer.substr(0, line_end), nullptr, 16);
          while (buffer.size() < line_end + 2 + size + 2) {
            if (!readMore(fd, buffer)) return;
          }
          request.body += buffer.substr(line_end + 2, size);
          buffer.erase(0, line_end + 2 + size + 2);
          if (size == 0) break;
        }
      }
      std::string response = handler(request);
      if (response == "HANG") {
        while (readMore(fd, buffer)) {
        }
        return;
      }
      if (response.empty() || !sendAll(fd, response)) return;
    }
  };
}

}  // namespace remora::test
