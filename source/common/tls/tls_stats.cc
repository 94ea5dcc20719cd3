#include "source/common/tls/tls_stats.h"

namespace remora::tls {
namespace {
constexpr const char* kFailuresName = "remora_tls_handshake_failures_total";
constexpr const char* kFailuresHelp =
    "TLS handshakes that failed, by reason (no_client_certificate, unknown_ca, "
    "certificate_expired, san_mismatch, protocol_version, no_shared_cipher, not_tls, "
    "peer_alert, connection_closed, no_certificate_yet, handshake_timeout, other)";
}  // namespace

TlsStats::TlsStats(stats::Store& store, std::string side, std::string name)
    : store_(store),
      labels_{{"side", std::move(side)}, {"name", std::move(name)}},
      handshakes_(
          store.counter("remora_tls_handshakes_total", "TLS handshakes completed", labels_)),
      resumptions_(store.counter("remora_tls_session_resumptions_total",
                                 "TLS handshakes that resumed an earlier session", labels_)) {
  store.declare(kFailuresName, kFailuresHelp, stats::MetricType::kCounter);
}

void TlsStats::onHandshake(bool resumed) {
  handshakes_.inc();
  if (resumed) resumptions_.inc();
}

void TlsStats::onFailure(std::string_view reason) {
  stats::Counter* counter = nullptr;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = failures_.find(reason);
    if (it == failures_.end()) {
      stats::Labels labels = labels_;
      labels.emplace_back("reason", std::string(reason));
      it = failures_
               .emplace(std::string(reason), &store_.counter(kFailuresName, kFailuresHelp, labels))
               .first;
    }
    counter = it->second;
  }
  counter->inc();
}

uint64_t TlsStats::failures(std::string_view reason) const {
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = failures_.find(reason);
  return it == failures_.end() ? 0 : it->second->value();
}

}  // namespace remora::tls
