#pragma once

// Counts discovery streams refused on pilot's TLS port by reason
// (pilot_xds_auth_failures_total{reason}) and those admitted
// (pilot_xds_authenticated_streams_total), and logs refusals without letting a client that
// retries in a loop flood the log: per reason, at most one line per `log_interval`, the next
// one saying how many were left out meanwhile.
//
// Thread-safe: streams are refused on gRPC's threads, metrics are read by the monitor.

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>

#include "source/pilot/xds_auth/node_authorizer.h"

namespace remora::pilot::xds_auth {

class AuthFailures {
 public:
  using Clock = std::function<std::chrono::steady_clock::time_point()>;
  using LogSink = std::function<void(const std::string& line)>;

  // Defaults: the steady clock, and stderr with pilot's "[pilot] " prefix.
  explicit AuthFailures(std::chrono::seconds log_interval = std::chrono::seconds(10),
                        Clock clock = {}, LogSink sink = {});

  // Counts a refusal and logs `message` (with `peer`, the client's address) unless this
  // reason was logged less than log_interval ago.
  void refused(Refusal refusal, const std::string& peer, const std::string& message);
  void admitted();

  uint64_t count(Refusal refusal) const;
  // Prometheus text for both families; every reason appears, from zero.
  std::string render() const;

 private:
  struct PerReason {
    uint64_t total = 0;
    uint64_t unlogged = 0;  // refusals since the last logged one, not logged themselves
    std::chrono::steady_clock::time_point last_logged{};
    bool logged_once = false;
  };

  const std::chrono::seconds log_interval_;
  Clock clock_;
  LogSink sink_;
  mutable std::mutex mutex_;
  std::map<Refusal, PerReason> reasons_;
  uint64_t admitted_ = 0;
};

}  // namespace remora::pilot::xds_auth
