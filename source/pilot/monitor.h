#pragma once

// Pilot's own small HTTP/1.1 server for operators: GET /debug/syncz (connected proxies and
// what each ACKed or NACKed, JSON), GET /metrics (Prometheus text), GET /ready. One thread,
// one request per connection.

#include <atomic>
#include <functional>
#include <string>
#include <thread>

#include "source/pilot/snapshot_cache.h"

namespace remora::pilot {

class MonitorServer {
 public:
  // `extra_metrics` (may be empty) is appended to /metrics on every scrape, on the monitor's
  // thread: other parts of pilot (the CA) expose their metrics through it.
  MonitorServer(SnapshotCache& cache, std::function<std::string()> extra_metrics = {})
      : cache_(cache), extra_metrics_(std::move(extra_metrics)) {}
  ~MonitorServer();
  // Binds ip:port (port 0: any); false with `error` on failure.
  bool start(const std::string& ip, uint16_t port, std::string& error);
  uint16_t port() const { return port_; }

 private:
  void serve();
  void handle(int fd);

  SnapshotCache& cache_;
  std::function<std::string()> extra_metrics_;
  int fd_ = -1;
  uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

}  // namespace remora::pilot
