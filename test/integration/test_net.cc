#include "test/integration/test_net.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <thread>

namespace remora::test {
namespace {
sockaddr_in loopback(uint16_t port) {
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(port);
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return sa;
}
}  // namespace

bool waitFor(const std::function<bool()>& condition, std::chrono::milliseconds timeout) {
  auto deadline = deadlineIn(timeout);
  while (true) {
    if (condition()) return true;
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

int listenLoopback(uint16_t& port, int backlog) { return listenOn("127.0.0.1", port, backlog); }

int listenOn(const std::string& ip, uint16_t& port, int backlog) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  sockaddr_in sa = loopback(port);
  inet_pton(AF_INET, ip.c_str(), &sa.sin_addr);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof(sa)) != 0 || ::listen(fd, backlog) != 0) {
    ::close(fd);
    return -1;
  }
  socklen_t len = sizeof(sa);
  getsockname(fd, reinterpret_cast<sockaddr*>(&sa), &len);
  port = ntohs(sa.sin_port);
  return fd;
}

uint16_t unusedPort() {
  uint16_t port = 0;
  int fd = listenLoopback(port);
  ::close(fd);
  return port;
}

int connectLoopback(uint16_t port) { return connectTo("127.0.0.1", port); }

int connectTo(const std::string& ip, uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in sa = loopback(port);
  if (inet_pton(AF_INET, ip.c_str(), &sa.sin_addr) != 1 ||
      ::connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof(sa)) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

bool waitReadable(int fd, std::chrono::milliseconds timeout) {
  pollfd p{fd, POLLIN, 0};
  return ::poll(&p, 1, static_cast<int>(timeout.count())) > 0;
}

bool sendAll(int fd, const std::string& data) {
  size_t sent = 0;
  while (sent < data.size()) {
    ssize_t n = ::send(fd, data.data() + sent, data.size() - sent, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    sent += n;
  }
  return true;
}

std::string recvExactly(int fd, size_t n, std::chrono::milliseconds timeout) {
  std::string out;
  auto deadline = deadlineIn(timeout);
  char buf[65536];
  while (out.size() < n) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0 || !waitReadable(fd, left)) break;
    ssize_t r = ::recv(fd, buf, std::min(sizeof(buf), n - out.size()), 0);
    if (r <= 0) break;
    out.append(buf, r);
  }
  return out;
}

std::string recvUntilClosed(int fd, std::chrono::milliseconds timeout, bool* eof) {
  std::string out;
  auto deadline = deadlineIn(timeout);
  char buf[65536];
  if (eof) *eof = false;
  while (true) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0 || !waitReadable(fd, left)) break;
    ssize_t r = ::recv(fd, buf, sizeof(buf), 0);
    if (r <= 0) {
      if (eof) *eof = true;
      break;
    }
    out.append(buf, r);
  }
  return out;
}

HttpResponse httpRequest(const std::string& address, const std::string& method,
                         const std::string& path) {
  HttpResponse response;
  auto colon = address.rfind(':');
  int fd = connectTo(address.substr(0, colon),
                     static_cast<uint16_t>(std::stoi(address.substr(colon + 1))));
  if (fd < 0) return response;
  sendAll(fd, method + " " + path + " HTTP/1.1\r\nHost: " + address +
                  "\r\nConnection: close\r\nContent-Length: 0\r\n\r\n");
  std::string raw = recvUntilClosed(fd, std::chrono::seconds(10));
  ::close(fd);
  auto split = raw.find("\r\n\r\n");
  if (raw.rfind("HTTP/1.", 0) != 0 || split == std::string::npos) return response;
  response.status = std::stoi(raw.substr(9, 3));
  response.headers = raw.substr(0, split);
  response.body = raw.substr(split + 4);
  return response;
}

}  // namespace remora::test
