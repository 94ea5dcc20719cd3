#pragma once

// Listener filter that peeks at a new connection's first bytes (MSG_PEEK: the connection later
// reads them as usual) and records the transport protocol, SNI, and application protocols for
// filter chain matching. It waits at most `timeout` for a decision; what is still undecided
// then, or never sent, counts as opaque. Results are counted per listener in
// remora_protocol_detection_total{result}.

#include <chrono>
#include <memory>
#include <set>
#include <string>

#include "source/interface/event/dispatcher.h"
#include "source/interface/network/listener_filter.h"
#include "source/interface/stats/stats.h"

namespace remora::filters::protocol_detection {

struct DetectionConfig {
  std::chrono::milliseconds timeout{100};
  std::set<uint32_t> opaque_ports;
  // Counters by outcome: tls, http/1.0, http/1.1, h2c, opaque, timeout, skipped.
  stats::Counter* tls = nullptr;
  stats::Counter* http1 = nullptr;
  stats::Counter* h2c = nullptr;
  stats::Counter* opaque = nullptr;
  stats::Counter* timeout_opaque = nullptr;
  stats::Counter* skipped = nullptr;
};

class ProtocolDetectionFilter : public network::ListenerFilter {
 public:
  explicit ProtocolDetectionFilter(std::shared_ptr<const DetectionConfig> config)
      : config_(std::move(config)) {}
  network::ListenerFilterStatus onAccept(network::ListenerFilterCallbacks& callbacks) override;

 private:
  // Peeks again; true when a decision was made (and recorded).
  bool tryDecide(bool final);
  void done();

  std::shared_ptr<const DetectionConfig> config_;
  network::ListenerFilterCallbacks* callbacks_ = nullptr;
  event::FileEventPtr file_event_;
  event::TimerPtr timer_;
};

}  // namespace remora::filters::protocol_detection
