#include "source/common/http/conn_pool/conn_pool_impl.h"

#include "source/common/common/logger.h"

namespace remora::http {

class ConnPoolImpl::Pending : public PendingRequest {
 public:
  Pending(ConnPoolImpl& parent, StreamDecoder& decoder, PoolCallbacks& callbacks)
      : parent(parent), decoder(decoder), callbacks(callbacks) {}
  void cancel() override { parent.onPendingCancelled(*this); }

  ConnPoolImpl& parent;
  StreamDecoder& decoder;
  PoolCallbacks& callbacks;
  std::list<std::unique_ptr<Pending>>::iterator self;
};

ConnPoolImpl::ConnPoolImpl(event::Dispatcher& dispatcher, upstream::HostConstSharedPtr host,
                           Protocol protocol, ConnectionFactory connect,
                           ClientCodecFactory codec_factory, ConnPoolLimits limits)
    : dispatcher_(dispatcher),
      host_(std::move(host)),
      protocol_(protocol),
      connect_(std::move(connect)),
      codec_factory_(std::move(codec_factory)),
      limits_(limits) {}

ConnPoolImpl::~ConnPoolImpl() {
  // Owners cancel their pending requests before the pool goes; clients close with it.
  while (!pending_.empty()) popPending(true);
  if (limits_.cluster_connections) {
    for (size_t i = 0; i < clients_.size(); ++i) limits_.cluster_connections->release();
  }
  clients_.clear();
}

PendingRequest* ConnPoolImpl::newStream(StreamDecoder& response_decoder, PoolCallbacks& callbacks) {
  for (auto& client : clients_) {
    if (client->canStartStream()) {
      RequestEncoder& encoder = client->newStream(response_decoder);
      callbacks.onPoolReady(encoder, host_);
      return nullptr;
    }
  }
  if (pending_.size() >= limits_.max_pending_requests ||
      (limits_.cluster_pending && !limits_.cluster_pending->tryAcquire())) {
    callbacks.onPoolFailure(PoolFailureReason::kOverflow, "too many pending requests", host_);
    return nullptr;
  }
  pending_.push_back(std::make_unique<Pending>(*this, response_decoder, callbacks));
  pending_.back()->self = std::prev(pending_.end());
  Pending* handle = pending_.back().get();
  maybeConnect();
  // maybeConnect may have failed everything at once (no connection allowed).
  for (auto& p : pending_) {
    if (p.get() == handle) return handle;
  }
  return nullptr;
}

uint32_t ConnPoolImpl::connectingCapacity() const {
  uint32_t capacity = 0;
  for (const auto& client : clients_) {
    if (client->connected()) continue;
    // HTTP/2 connections carry many streams; until SETTINGS arrive count them generously.
    capacity += protocol_ == Protocol::kHttp2 ? 100 : 1;
  }
  return capacity;
}

void ConnPoolImpl::maybeConnect() {
  while (pending_.size() > connectingCapacity()) {
    if (clients_.size() >= limits_.max_connections) {
      // Full of busy connections: requests wait for one to free up.
      return;
    }
    if (limits_.cluster_connections && !limits_.cluster_connections->tryAcquire()) {
      // The cluster's connection breaker: requests wait here for a connection to free up
      // (or fail as pending overflow), as in Envoy.
      return;
    }
    auto client =
        std::make_unique<CodecClient>(connect_(), codec_factory_, host_, *this, limits_.connection);
    auto& raw = *client;
    clients_.push_back(std::move(client));
    raw.pool_entry = std::prev(clients_.end());
    raw.connect();
  }
}

void ConnPoolImpl::attachPending() {
  for (auto& client : clients_) {
    while (!pending_.empty() && client->canStartStream()) {
      auto pending = popPending(true);
      RequestEncoder& encoder = client->newStream(pending->decoder);
      pending->callbacks.onPoolReady(encoder, host_);
    }
  }
}

void ConnPoolImpl::onConnected(CodecClient&) { attachPending(); }

void ConnPoolImpl::onStreamDone(CodecClient& client) {
  // Clients with room go to the front, where newStream() looks first: with many busy
  // connections a new request then finds a free one at once instead of scanning them all.
  clients_.splice(clients_.begin(), clients_, client.pool_entry);
  if (!pending_.empty()) {
    // On the next loop turn: the stream that just ended is still unwinding through the codec.
    if (!attach_timer_) attach_timer_ = dispatcher_.createTimer([this] { attachPending(); });
    attach_timer_->enable(std::chrono::milliseconds(0));
  }
}

void ConnPoolImpl::onClosed(CodecClient& client, bool connected, std::string_view reason) {
  auto it = client.pool_entry;
  auto owned = std::move(*it);
  clients_.erase(it);
  if (limits_.cluster_connections) limits_.cluster_connections->release();
  dispatcher_.deferredDelete(std::move(owned));
  if (!connected) {
    // The connect failed: what queued for it fails too, as Envoy does, rather than waiting
    // for another attempt that would likely fail the same way.
    uint32_t capacity = connectingCapacity();
    std::string details(reason.empty() ? "connection failure" : reason);
    while (pending_.size() > capacity) {
      auto pending = popPending(false);
      pending->callbacks.onPoolFailure(PoolFailureReason::kConnectionFailure, details, host_);
    }
    return;
  }
  maybeConnect();
}

void ConnPoolImpl::onGoAway(CodecClient&) { maybeConnect(); }

void ConnPoolImpl::drainConnections() {
  for (auto& client : clients_) client->retireWhenIdle();
}

void ConnPoolImpl::onPendingCancelled(Pending& pending) {
  pending_.erase(pending.self);
  if (limits_.cluster_pending) limits_.cluster_pending->release();
}

std::unique_ptr<ConnPoolImpl::Pending> ConnPoolImpl::popPending(bool front) {
  auto pending = std::move(front ? pending_.front() : pending_.back());
  if (front) {
    pending_.pop_front();
  } else {
    pending_.pop_back();
  }
  if (limits_.cluster_pending) limits_.cluster_pending->release();
  return pending;
}

}  // namespace remora::http
