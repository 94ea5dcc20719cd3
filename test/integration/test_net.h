#pragma once

// Blocking socket helpers for integration tests: loopback only, every wait has a deadline.

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>

namespace remora::test {

using Deadline = std::chrono::steady_clock::time_point;
inline Deadline deadlineIn(std::chrono::milliseconds d) {
  return std::chrono::steady_clock::now() + d;
}

// Polls `condition` every few milliseconds until it holds or `timeout` passes.
bool waitFor(const std::function<bool()>& condition,
             std::chrono::milliseconds timeout = std::chrono::seconds(10));

// A listening socket on 127.0.0.1 with an OS-chosen port. Returns the fd; `port` is set.
int listenLoopback(uint16_t& port, int backlog = 128);
// A listening socket on ip:port (a 127.x.y.z address, port 0 for any); `port` is set.
int listenOn(const std::string& ip, uint16_t& port, int backlog = 128);
// A port on 127.0.0.1 that nothing listens on (bound once, then released).
uint16_t unusedPort();
// Blocking connect to 127.0.0.1:port; -1 on failure.
int connectLoopback(uint16_t port);
// Blocking connect to an IPv4 `ip`:port; -1 on failure.
int connectTo(const std::string& ip, uint16_t port);
// Waits up to `timeout` for `fd` to be readable (or closed). False on timeout.
bool waitReadable(int fd, std::chrono::milliseconds timeout);
// Sends everything (blocking). False on error.
bool sendAll(int fd, const std::string& data);
// Reads exactly `n` bytes or until EOF/timeout; returns what was read.
std::string recvExactly(int fd, size_t n, std::chrono::milliseconds timeout);
// Reads until EOF (or error/timeout); returns the bytes. `eof` tells whether EOF/reset was seen.
std::string recvUntilClosed(int fd, std::chrono::milliseconds timeout, bool* eof = nullptr);

// One HTTP/1.1 request over a fresh connection to ip:port ("127.0.0.1:1234", IPv4).
struct HttpResponse {
  int status = 0;
  std::string headers;
  std::string body;
};
HttpResponse httpRequest(const std::string& address, const std::string& method,
                         const std::string& path);

}  // namespace remora::test
