#include "source/sidecar/wait_ready.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <thread>

namespace remora::sidecar {
namespace {

// Waits for `events` on `fd` until `deadline`; false on timeout or error.
bool waitFd(int fd, short events, std::chrono::steady_clock::time_point deadline) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
      deadline - std::chrono::steady_clock::now());
  if (left.count() <= 0) return false;
  pollfd p{fd, events, 0};
  return ::poll(&p, 1, static_cast<int>(left.count())) == 1;
}

bool parseAddress(const std::string& text, std::string& ip, uint16_t& port) {
  size_t colon = text.rfind(':');
  if (colon == std::string::npos) return false;
  ip = text.substr(0, colon);
  if (ip.size() >= 2 && ip.front() == '[' && ip.back() == ']') ip = ip.substr(1, ip.size() - 2);
  try {
    size_t used = 0;
    unsigned long p = std::stoul(text.substr(colon + 1), &used);
    if (used != text.size() - colon - 1 || p == 0 || p > 65535) return false;
    port = static_cast<uint16_t>(p);
  } catch (const std::exception&) {
    return false;
  }
  in6_addr probe6;
  in_addr probe4;
  return inet_pton(AF_INET, ip.c_str(), &probe4) == 1 ||
         inet_pton(AF_INET6, ip.c_str(), &probe6) == 1;
}

}  // namespace

int probeStatus(const std::string& ip, uint16_t port, const std::string& path, int timeout_ms,
                std::string& error) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  sockaddr_storage ss{};
  socklen_t len;
  bool v6 = ip.find(':') != std::string::npos;
  if (v6) {
    auto* sa = reinterpret_cast<sockaddr_in6*>(&ss);
    sa->sin6_family = AF_INET6;
    sa->sin6_port = htons(port);
    inet_pton(AF_INET6, ip.c_str(), &sa->sin6_addr);
    len = sizeof(sockaddr_in6);
  } else {
    auto* sa = reinterpret_cast<sockaddr_in*>(&ss);
    sa->sin_family = AF_INET;
    sa->sin_port = htons(port);
    inet_pton(AF_INET, ip.c_str(), &sa->sin_addr);
    len = sizeof(sockaddr_in);
  }
  int fd = ::socket(v6 ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    error = std::string("socket: ") + std::strerror(errno);
    return 0;
  }
  int status = 0;
  std::string response;
  std::string request = "GET " + path + " HTTP/1.1\r\nHost: " + ip + ":" + std::to_string(port) +
                        "\r\nUser-Agent: remora-wait-ready\r\nConnection: close\r\n\r\n";
  if (::connect(fd, reinterpret_cast<sockaddr*>(&ss), len) != 0 && errno != EINPROGRESS) {
    error = std::string("connect: ") + std::strerror(errno);
  } else if (!waitFd(fd, POLLOUT, deadline)) {
    error = "connect: timed out";
  } else {
    int so_error = 0;
    socklen_t so_len = sizeof(so_error);
    getsockopt(fd, SOL_SOCKET, SO_ERROR, &so_error, &so_len);
    if (so_error != 0) {
      error = std::string("connect: ") + std::strerror(so_error);
    } else if (::send(fd, request.data(), request.size(), MSG_NOSIGNAL) !=
               static_cast<ssize_t>(request.size())) {
      error = std::string("send: ") + std::strerror(errno);
    } else {
      // The status line is all that is needed.
      while (response.find("\r\n") == std::string::npos && waitFd(fd, POLLIN, deadline)) {
        char buf[512];
        ssize_t n = ::recv(fd, buf, sizeof(buf), 0);
        if (n <= 0) break;
        response.append(buf, static_cast<size_t>(n));
      }
      if (response.compare(0, 5, "HTTP/") == 0 && response.find(' ') != std::string::npos) {
        status = std::atoi(response.c_str() + response.find(' ') + 1);
      } else {
        error = response.empty() ? "no answer" : "not an HTTP answer";
      }
    }
  }
  ::close(fd);
  return status;
}

int runWaitReadyCommand(const std::vector<std::string>& args, std::ostream& out,
                        std::ostream& err) {
  std::string address = "127.0.0.1:15021";
  std::string path = "/healthz/ready";
  long timeout_s = 60;
  long interval_ms = 200;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& flag = args[i];
    if (flag == "-h" || flag == "--help") {
      out << "usage: remora wait-ready [--address IP:PORT] [--path PATH] [--timeout-s N] "
             "[--interval-ms N]\n"
             "  Waits until GET PATH at IP:PORT answers 200 (default "
             "127.0.0.1:15021/healthz/ready,\n  60 s, every 200 ms). Exit 0 ready, 1 not ready "
             "in time, 2 bad arguments.\n";
      return 0;
    }
    if (i + 1 >= args.size()) {
      err << "remora wait-ready: " << flag << " needs a value (or unknown flag)\n";
      return 2;
    }
    const std::string& value = args[++i];
    auto number = [&](long& into, long min, long max) {
      try {
        size_t used = 0;
        long v = std::stol(value, &used);
        if (used != value.size() || v < min || v > max) return false;
        into = v;
        return true;
      } catch (const std::exception&) {
        return false;
      }
    };
    bool ok = true;
    if (flag == "--address") {
      address = value;
    } else if (flag == "--path") {
      ok = !value.empty() && value[0] == '/';
      path = value;
    } else if (flag == "--timeout-s") {
      ok = number(timeout_s, 0, 86400);
    } else if (flag == "--interval-ms") {
      ok = number(interval_ms, 10, 60000);
    } else {
      err << "remora wait-ready: unknown flag " << flag << "\n";
      return 2;
    }
    if (!ok) {
      err << "remora wait-ready: bad value for " << flag << ": \"" << value << "\"\n";
      return 2;
    }
  }
  std::string ip;
  uint16_t port = 0;
  if (!parseAddress(address, ip, port)) {
    err << "remora wait-ready: bad value for --address: \"" << address
        << "\" (want IP:PORT, e.g. 127.0.0.1:15021)\n";
    return 2;
  }
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeout_s);
  std::string last;
  while (true) {
    std::string error;
    int status = probeStatus(ip, port, path, 1000, error);
    if (status == 200) {
      out << "remora wait-ready: " << address << path << " is ready\n";
      return 0;
    }
    last = status != 0 ? "HTTP " + std::to_string(status) : error;
    if (std::chrono::steady_clock::now() + std::chrono::milliseconds(interval_ms) > deadline) {
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(interval_ms));
  }
  err << "remora wait-ready: " << address << path << " not ready after " << timeout_s
      << " s (last: " << last << ")\n";
  return 1;
}

}  // namespace remora::sidecar
