#pragma once

// `remora.filters.network.rbac`: authorizes a connection once, when it starts, before any of
// its bytes reach the filters after it (tcp_proxy, http_connection_manager). On TLS the peer's
// identity is known only once the handshake is done, so the filter holds the chain until then.
// A denied connection is closed at once: the next filter never runs, so no upstream connection
// is made.

#include <memory>

#include "filters/network/rbac/rbac_filter_config.h"
#include "source/interface/network/connection.h"
#include "source/interface/network/filter.h"

namespace remora::filters::rbac {

class RbacNetworkFilter : public network::ReadFilter, public network::ConnectionCallbacks {
 public:
  explicit RbacNetworkFilter(std::shared_ptr<const RbacFilterConfig> config)
      : config_(std::move(config)) {}

  // network::ReadFilter
  void initializeReadFilterCallbacks(network::ReadFilterCallbacks& callbacks) override {
    callbacks_ = &callbacks;
  }
  network::ReadFilterStatus onNewConnection() override;
  network::ReadFilterStatus onData(buffer::Instance& data, bool end_stream) override;

  // network::ConnectionCallbacks (only while waiting for the TLS handshake)
  void onEvent(network::ConnectionEvent event) override;

 private:
  enum class State { kWaitingForHandshake, kAllowed, kDenied };

  // Decides and counts; closes the connection when denied. True when allowed.
  bool authorize();

  std::shared_ptr<const RbacFilterConfig> config_;
  network::ReadFilterCallbacks* callbacks_ = nullptr;
  State state_ = State::kWaitingForHandshake;
};

}  // namespace remora::filters::rbac
