#pragma once

// Handshake metrics of one TLS context (a listener's filter chain or a cluster):
//   remora_tls_handshakes_total{side,name}
//   remora_tls_session_resumptions_total{side,name}
//   remora_tls_handshake_failures_total{side,name,reason} (reason handshake_timeout: a
//   server handshake not finished within its filter chain's transport_socket_connect_timeout)
// Thread-safe; failure series appear on the first failure of each reason.

#include <map>
#include <mutex>
#include <string>
#include <string_view>

#include "source/interface/stats/stats.h"

namespace remora::tls {

class TlsStats {
 public:
  // `side` is "downstream" or "upstream"; `name` the listener (and chain) or cluster.
  TlsStats(stats::Store& store, std::string side, std::string name);
  void onHandshake(bool resumed);
  void onFailure(std::string_view reason);
  uint64_t failures(std::string_view reason) const;
  uint64_t handshakes() const { return handshakes_.value(); }

 private:
  stats::Store& store_;
  stats::Labels labels_;
  stats::Counter& handshakes_;
  stats::Counter& resumptions_;
  mutable std::mutex mutex_;
  std::map<std::string, stats::Counter*, std::less<>> failures_;
};

}  // namespace remora::tls
