#include "source/pilot/monitor.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace remora::pilot {

MonitorServer::~MonitorServer() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
  if (fd_ >= 0) ::close(fd_);
}

bool MonitorServer::start(const std::string& ip, uint16_t port, std::string& error) {
  fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int one = 1;
  ::setsockopt(fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(port);
  if (inet_pton(AF_INET, ip.c_str(), &address.sin_addr) != 1) {
    error = "\"" + ip + "\" is not an IPv4 address";
    return false;
  }
  if (::bind(fd_, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0 ||
      ::listen(fd_, 64) != 0) {
    error = "cannot listen on " + ip + ":" + std::to_string(port) + ": " + std::strerror(errno);
    return false;
  }
  socklen_t len = sizeof(address);
  ::getsockname(fd_, reinterpret_cast<sockaddr*>(&address), &len);
  port_ = ntohs(address.sin_port);
  thread_ = std::thread([this] { serve(); });
  return true;
}

void MonitorServer::serve() {
  while (!stop_) {
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, 100) <= 0) continue;
    int client = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (client < 0) continue;
    handle(client);
    ::close(client);
  }
}

void MonitorServer::handle(int fd) {
  std::string request;
  char buffer[2048];
  while (request.find("\r\n\r\n") == std::string::npos && request.size() < 16384) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 2000) <= 0) return;
    ssize_t n = ::recv(fd, buffer, sizeof(buffer), 0);
    if (n <= 0) return;
    request.append(buffer, static_cast<size_t>(n));
  }
  std::string line = request.substr(0, request.find("\r\n"));
  std::string path = line.substr(line.find(' ') + 1);
  path = path.substr(0, path.find(' '));
  path = path.substr(0, path.find('?'));
  int status = 200;
  std::string type = "text/plain; charset=utf-8";
  std::string body;
  if (path == "/debug/syncz") {
    type = "application/json";
    body = cache_.syncz();
  } else if (path == "/debug/config_errors" && config_errors_) {
    type = "application/json";
    body = config_errors_();
  } else if (path == "/metrics" || path == "/stats/prometheus") {
    type = "text/plain; version=0.0.4";
    body = cache_.metrics();
    if (extra_metrics_) body += extra_metrics_();
  } else if (auto page = pages_.find(path); page != pages_.end()) {
    type = "application/json";
    body = page->second();
  } else if (path == "/ready") {
    if (!ready_ || ready_()) {
      body = "ready\n";
    } else {
      status = 503;
      body = "not ready: waiting for the first complete sync of the configuration source\n";
    }
  } else {
    status = 404;
    body = "not found: try /debug/syncz, /debug/config_errors, /metrics, /ready\n";
  }
  std::string response = "HTTP/1.1 " + std::to_string(status) +
                         (status == 200   ? " OK"
                          : status == 503 ? " Service Unavailable"
                                          : " Not Found") +
                         "\r\ncontent-type: " + type +
                         "\r\ncontent-length: " + std::to_string(body.size()) +
                         "\r\nconnection: close\r\n\r\n" + body;
  size_t sent = 0;
  while (sent < response.size()) {
    ssize_t n = ::send(fd, response.data() + sent, response.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) return;
    sent += static_cast<size_t>(n);
  }
}

}  // namespace remora::pilot
