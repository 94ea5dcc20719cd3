#include "filters/network/rbac/rbac_network_filter.h"

#include <string>

#include "source/common/common/logger.h"

namespace remora::filters::rbac {

network::ReadFilterStatus RbacNetworkFilter::onNewConnection() {
  network::Connection& connection = callbacks_->connection();
  if (connection.handshakePending()) {
    // Deciding now would see no identity and deny every mTLS peer; kConnected follows the
    // handshake, and bytes that arrive meanwhile wait in the connection's buffer.
    connection.addConnectionCallbacks(*this);
    return network::ReadFilterStatus::kStop;
  }
  return authorize() ? network::ReadFilterStatus::kContinue : network::ReadFilterStatus::kStop;
}

network::ReadFilterStatus RbacNetworkFilter::onData(buffer::Instance&, bool) {
  return state_ == State::kAllowed ? network::ReadFilterStatus::kContinue
                                   : network::ReadFilterStatus::kStop;
}

void RbacNetworkFilter::onEvent(network::ConnectionEvent event) {
  if (event != network::ConnectionEvent::kConnected) return;
  if (state_ != State::kWaitingForHandshake) return;
  if (authorize()) callbacks_->continueReading();
}

bool RbacNetworkFilter::authorize() {
  network::Connection& connection = callbacks_->connection();
  remora::rbac::AuthorizationRequest request;
  addConnectionAttributes(connection, request);
  request.is_http = false;
  remora::rbac::Decision decision = config_->authorize(request);
  if (decision.allowed) {
    state_ = State::kAllowed;
    return true;
  }
  state_ = State::kDenied;
  REMORA_LOG(debug, "[C%lu] rbac %s: denied connection from %s (principal \"%.*s\"): %.*s%s%.*s",
             connection.id(), config_->statPrefix().c_str(),
             connection.remoteAddress().asString().c_str(),
             static_cast<int>(request.peer_principal.size()), request.peer_principal.data(),
             static_cast<int>(decision.reason.size()), decision.reason.data(),
             decision.policy.empty() ? "" : " ", static_cast<int>(decision.policy.size()),
             decision.policy.data());
  // Nothing was sent on the client's behalf and nothing is owed to it: drop it now.
  connection.close(network::ConnectionCloseType::kNoFlush);
  return false;
}

}  // namespace remora::filters::rbac
