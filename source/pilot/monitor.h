#pragma once

// Pilot's own small HTTP/1.1 server for operators: GET /debug/syncz (connected proxies and
// what each ACKed or NACKed, JSON), GET /debug/config_errors (the current problems of pilot's
// inputs, JSON, see config_issues.h), GET /metrics (Prometheus text), GET /ready (503 until the
// first complete configuration, see setReadiness). One thread, one request per connection.

#include <atomic>
#include <functional>
#include <map>
#include <string>
#include <thread>

#include "source/pilot/snapshot_cache.h"

namespace remora::pilot {

class MonitorServer {
 public:
  // `extra_metrics` (may be empty) is appended to /metrics on every scrape, on the monitor's
  // thread: other parts of pilot (the CA) expose their metrics through it.
  // `config_errors` (may be empty) renders /debug/config_errors.
  MonitorServer(SnapshotCache& cache, std::function<std::string()> extra_metrics = {},
                std::function<std::string()> config_errors = {})
      : cache_(cache),
        extra_metrics_(std::move(extra_metrics)),
        config_errors_(std::move(config_errors)) {}
  ~MonitorServer();
  // What GET /ready answers: 200 while `ready` returns true, else 503 (pilot has no complete
  // configuration yet). Without one, always ready. Set before start(); called on the monitor's
  // thread.
  void setReadiness(std::function<bool()> ready) { ready_ = std::move(ready); }
  // Serves `render`'s text (JSON) at GET `path` (e.g. /debug/leader). Set before start();
  // called on the monitor's thread.
  void addPage(std::string path, std::function<std::string()> render) {
    pages_[std::move(path)] = std::move(render);
  }
  // Binds ip:port (port 0: any); false with `error` on failure.
  bool start(const std::string& ip, uint16_t port, std::string& error);
  uint16_t port() const { return port_; }

 private:
  void serve();
  void handle(int fd);

  SnapshotCache& cache_;
  std::function<std::string()> extra_metrics_;
  std::function<std::string()> config_errors_;
  std::function<bool()> ready_;
  std::map<std::string, std::function<std::string()>> pages_;
  int fd_ = -1;
  uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

}  // namespace remora::pilot
