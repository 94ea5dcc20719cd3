#pragma once

// Fake upstream servers on 127.0.0.1 (port 0), each connection served on its own thread.

#include <atomic>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace remora::test {

// Byte `i` of the deterministic test stream, so receivers can check integrity cheaply.
inline char patternByte(uint64_t i) { return static_cast<char>((i * 131 + (i >> 12)) & 0xff); }

class FakeUpstream {
 public:
  // `serve` handles one accepted, blocking connection; the fd is closed after it returns.
  using ServeFn = std::function<void(int fd)>;
  explicit FakeUpstream(ServeFn serve);
  // On a given loopback address and port (examples that fix them).
  FakeUpstream(ServeFn serve, const std::string& ip, uint16_t port);
  ~FakeUpstream();

  uint16_t port() const { return port_; }
  uint64_t accepted() const { return accepted_.load(); }

  // Ready-made behaviours.
  // Echoes bytes until the peer's FIN, then half-closes its side.
  static ServeFn echo();
  // Sends `bytes` of the pattern stream, counting progress in `sent`, then closes.
  static ServeFn source(uint64_t bytes, std::atomic<uint64_t>* sent);
  // Reads until FIN, counting bytes in `received` and pattern mismatches in `corrupt`.
  static ServeFn sink(std::atomic<uint64_t>* received, std::atomic<uint64_t>* corrupt);

 private:
  void acceptLoop();

  ServeFn serve_;
  int listen_fd_ = -1;
  uint16_t port_ = 0;
  std::atomic<uint64_t> accepted_{0};
  std::atomic<bool> stopping_{false};
  std::thread acceptor_;
  std::mutex lock_;
  std::vector<std::thread> handlers_;
  std::vector<int> open_fds_;
};

}  // namespace remora::test
