#pragma once

// A tiny authoritative DNS server for tests: UDP on 127.0.0.1 (OS-chosen port), its own
// thread, answers A and AAAA queries from a table with the given TTLs, NXDOMAIN for unknown
// names, and ignores names it is told to drop (so clients time out). Records every name asked.

#include <atomic>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace remora::network::test {

class FakeDnsServer {
 public:
  FakeDnsServer();
  ~FakeDnsServer();

  uint16_t port() const { return port_; }
  // Names are lowercase without the trailing dot. `ip` is an IPv4 or IPv6 literal.
  void add(const std::string& name, const std::string& ip, uint32_t ttl);
  void clear(const std::string& name);
  void drop(const std::string& name);
  std::vector<std::string> queries() const;

 private:
  void serve();
  std::string answer(const std::string& query);

  int fd_ = -1;
  uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  mutable std::mutex lock_;
  std::map<std::string, std::vector<std::pair<std::string, uint32_t>>> records_;
  std::map<std::string, bool> drop_;
  std::vector<std::string> queries_;
  std::thread thread_;
};

}  // namespace remora::network::test
