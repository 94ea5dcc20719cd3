#pragma once

// Pilot's own small HTTP/1.1 server for operators: GET /debug/syncz (connected proxies and
// what each ACKed or NACKed, JSON), GET /metrics (Prometheus text), GET /ready. One thread,
// one request per connection.

#include <atomic>
#include <string>
#include <thread>

#include "source/pilot/snapshot_cache.h"

namespace remora::pilot {

class MonitorServer {
 public:
  MonitorServer(SnapshotCache& cache) : cache_(cache) {}
  ~MonitorServer();
  // Binds ip:port (port 0: any); false with `error` on failure.
  bool start(const std::string& ip, uint16_t port, std::string& error);
  uint16_t port() const { return port_; }

 private:
  void serve();
  void handle(int fd);

  SnapshotCache& cache_;
  int fd_ = -1;
  uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

}  // namespace remora::pilot
