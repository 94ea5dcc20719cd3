#include "test/integration/fake_upstream.h"

#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>

#include "test/integration/test_net.h"

namespace remora::test {

FakeUpstream::FakeUpstream(ServeFn serve) : serve_(std::move(serve)) {
  listen_fd_ = listenLoopback(port_);
  acceptor_ = std::thread([this] { acceptLoop(); });
}

FakeUpstream::FakeUpstream(ServeFn serve, const std::string& ip, uint16_t port)
    : serve_(std::move(serve)), port_(port) {
  listen_fd_ = listenOn(ip, port_);
  acceptor_ = std::thread([this] { acceptLoop(); });
}

FakeUpstream::~FakeUpstream() {
  stopping_ = true;
  ::shutdown(listen_fd_, SHUT_RDWR);
  acceptor_.join();
  ::close(listen_fd_);
  {
    // Unblock handlers still reading from peers that never close.
    std::lock_guard<std::mutex> guard(lock_);
    for (int fd : open_fds_) ::shutdown(fd, SHUT_RDWR);
  }
  for (auto& t : handlers_) t.join();
}

void FakeUpstream::acceptLoop() {
  while (!stopping_) {
    int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) {
      if (stopping_) return;
      continue;
    }
    accepted_++;
    std::lock_guard<std::mutex> guard(lock_);
    open_fds_.push_back(fd);
    handlers_.emplace_back([this, fd] {
      serve_(fd);
      {
        std::lock_guard<std::mutex> guard(lock_);
        open_fds_.erase(std::find(open_fds_.begin(), open_fds_.end(), fd));
      }
      ::close(fd);
    });
  }
}

FakeUpstream::ServeFn FakeUpstream::echo() {
  return [](int fd) {
    char buf[65536];
    while (true) {
      ssize_t n = ::recv(fd, buf, sizeof(buf), 0);
      if (n <= 0) break;
      if (!sendAll(fd, std::string(buf, n))) return;
    }
    ::shutdown(fd, SHUT_WR);
  };
}

FakeUpstream::ServeFn FakeUpstream::source(uint64_t bytes, std::atomic<uint64_t>* sent) {
  return [bytes, sent](int fd) {
    std::string chunk(256 * 1024, '\0');
    uint64_t offset = 0;
    while (offset < bytes) {
      size_t n = std::min<uint64_t>(chunk.size(), bytes - offset);
      for (size_t i = 0; i < n; ++i) chunk[i] = patternByte(offset + i);
      if (!sendAll(fd, chunk.substr(0, n))) return;
      offset += n;
      if (sent) sent->store(offset);
    }
  };
}

FakeUpstream::ServeFn FakeUpstream::sink(std::atomic<uint64_t>* received,
                                         std::atomic<uint64_t>* corrupt) {
  return [received, corrupt](int fd) {
    char buf[65536];
    uint64_t offset = 0;
    while (true) {
      ssize_t n = ::recv(fd, buf, sizeof(buf), 0);
      if (n <= 0) break;
      for (ssize_t i = 0; i < n; ++i) {
        if (buf[i] != patternByte(offset + i) && corrupt) (*corrupt)++;
      }
      offset += n;
      if (received) received->store(offset);
    }
  };
}

}  // namespace remora::test
