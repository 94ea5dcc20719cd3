#include "source/server/active_listener.h"

#include <unistd.h>

#include <cstring>

#include "source/common/common/log_rate_limiter.h"
#include "source/common/network/connection_impl.h"
#include "source/common/network/raw_transport_socket.h"
#include "source/server/worker.h"

namespace remora::server {

// An accepted socket going through the listener filters, with a deadline.
class ActiveListener::PendingSocket : public network::AcceptedSocket,
                                      public network::ListenerFilterCallbacks,
                                      public event::DeferredDeletable {
 public:
  PendingSocket(ActiveListener& parent, int fd, const network::Address& local,
                const network::Address& remote)
      : parent_(parent), fd_(fd), local_(local), remote_(remote) {
    for (const auto& factory : parent_.config_->listener_filters) filters_.push_back(factory());
  }
  ~PendingSocket() override {
    if (fd_ >= 0) {
      ::close(fd_);
      parent_.worker_.connectionLimit().release();
    }
  }

  // Runs filters from `next_`; returns when one stops or all are done.
  void run() {
    while (next_ < filters_.size()) {
      auto status = filters_[next_++]->onAccept(*this);
      if (status == network::ListenerFilterStatus::kStop) {
        if (!timer_) {
          timer_ = parent_.worker_.dispatcher().createTimer([this] { onTimeout(); });
          timer_->enable(parent_.config_->listener_filters_timeout);
        }
        return;
      }
    }
    finish(true);
  }

  // network::AcceptedSocket
  int fd() const override { return fd_; }
  const network::Address& remoteAddress() const override { return remote_; }
  const network::Address& localAddress() const override { return local_; }
  void restoreLocalAddress(const network::Address& original) override {
    local_ = original;
    restored_ = true;
  }
  bool localAddressRestored() const override { return restored_; }
  void setDetectedTransportProtocol(std::string protocol) override {
    transport_protocol_ = std::move(protocol);
  }
  const std::string& detectedTransportProtocol() const override { return transport_protocol_; }
  void setDetectedApplicationProtocols(std::vector<std::string> protocols) override {
    application_protocols_ = std::move(protocols);
  }
  const std::vector<std::string>& detectedApplicationProtocols() const override {
    return application_protocols_;
  }
  void setRequestedServerName(std::string name) override { server_name_ = std::move(name); }
  const std::string& requestedServerName() const override { return server_name_; }

  // network::ListenerFilterCallbacks
  network::AcceptedSocket& socket() override { return *this; }
  event::Dispatcher& dispatcher() override { return parent_.worker_.dispatcher(); }
  bool filterChainDependsOnProtocol() const override {
    return parent_.config_->chainDependsOnProtocol(local_);
  }
  void continueFilterChain(bool success) override {
    if (!success) {
      finish(false);
      return;
    }
    run();
  }

 private:
  void onTimeout() {
    // A peer that connects and stays silent triggers this at will.
    static log::LogRateLimiter limiter(std::chrono::seconds(10));
    REMORA_LOG_RATE_LIMITED(limiter, debug, "listener %s: listener filter timeout from %s",
                            parent_.config_->name.c_str(), remote_.asString().c_str());
    if (parent_.config_->listener_filter_timeouts) parent_.config_->listener_filter_timeouts->inc();
    finish(false);
  }

  // Hands the socket on (or closes it) and removes this object.
  void finish(bool success) {
    timer_.reset();
    int fd = fd_;
    fd_ = -1;
    if (success) {
      parent_.createConnection(fd, local_, remote_,
                               {local_, transport_protocol_, server_name_, application_protocols_});
    } else {
      ::close(fd);
      parent_.worker_.connectionLimit().release();
    }
    parent_.removePending(*this);
  }

  ActiveListener& parent_;

 public:
  std::list<std::unique_ptr<PendingSocket>>::iterator self_;

 private:
  int fd_;
  network::Address local_;
  network::Address remote_;
  bool restored_ = false;
  std::string transport_protocol_;
  std::vector<std::string> application_protocols_;
  std::string server_name_;
  std::vector<network::ListenerFilterPtr> filters_;
  size_t next_ = 0;
  event::TimerPtr timer_;
};

// Owns a downstream connection for its whole life and removes it once closed.
class ActiveListener::ActiveConnection : public network::ConnectionCallbacks,
                                         public event::DeferredDeletable {
 public:
  ActiveConnection(ActiveListener& parent, network::ConnectionPtr connection)
      : parent_(parent), connection_(std::move(connection)) {
    connection_->addConnectionCallbacks(*this);
  }
  network::Connection& connection() { return *connection_; }
  void onEvent(network::ConnectionEvent event) override {
    if (event == network::ConnectionEvent::kConnected) return;
    parent_.removeConnection(*this);
  }

  // Position in the parent's list, for O(1) removal.
  std::list<std::unique_ptr<ActiveConnection>>::iterator self_;

 private:
  ActiveListener& parent_;
  network::ConnectionPtr connection_;
};

ActiveListener::ActiveListener(Worker& worker, ListenerConfigConstSharedPtr config, int listen_fd)
    : worker_(worker), config_(std::move(config)) {
  tcp_listener_ = std::make_unique<network::TcpListener>(
      worker_.dispatcher(), listen_fd,
      [this](int fd, const network::Address& local, const network::Address& remote) {
        onAccept(fd, local, remote);
      },
      [this](int error, std::chrono::milliseconds pause) { onAcceptError(error, pause); },
      worker_.connectionLimit().descriptorCeiling());
}

void ActiveListener::onAcceptError(int error, std::chrono::milliseconds pause) {
  if (config_->accept_errors) config_->accept_errors->inc();
  // One limiter for every listener and worker: at the descriptor limit they all fail at once.
  static log::LogRateLimiter limiter(std::chrono::seconds(10));
  if (pause.count() > 0) {
    REMORA_LOG_RATE_LIMITED(
        limiter, warn, "listener %s: accept failed: %s; accepting again in %lld ms",
        config_->name.c_str(), std::strerror(error), static_cast<long long>(pause.count()));
  } else {
    REMORA_LOG_RATE_LIMITED(limiter, warn, "listener %s: accept failed: %s", config_->name.c_str(),
                            std::strerror(error));
  }
}

ActiveListener::~ActiveListener() {
  tcp_listener_.reset();
  pending_.clear();
  // Worker shutdown: whatever is still open is closed now.
  while (!connections_.empty()) {
    connections_.front()->connection().close(network::ConnectionCloseType::kNoFlush);
  }
}

void ActiveListener::onAccept(int fd, const network::Address& local,
                              const network::Address& remote) {
  if (config_->local_clients_only && !worker_.localAddresses().isLocal(remote)) {
    REMORA_LOG(debug, "listener %s: refusing %s: it serves only clients inside this host (pod)",
               config_->name.c_str(), remote.asString().c_str());
    if (config_->non_local_clients_refused) config_->non_local_clients_refused->inc();
    ::close(fd);
    return;
  }
  if (config_->max_connections != 0 &&
      config_->open_connections.load(std::memory_order_relaxed) >= config_->max_connections) {
    config_->connections_overflow->inc();
    ::close(fd);
    return;
  }
  if (!worker_.connectionLimit().tryAcquire()) {
    config_->global_connections_overflow->inc();
    ::close(fd);
    return;
  }
  if (config_->listener_filters.empty()) {
    static const std::string kNone;
    static const std::vector<std::string> kNoProtocols;
    createConnection(fd, local, remote, {local, kNone, kNone, kNoProtocols});
    return;
  }
  pending_.push_back(std::make_unique<PendingSocket>(*this, fd, local, remote));
  pending_.back()->self_ = std::prev(pending_.end());
  pending_.back()->run();
}

void ActiveListener::removePending(PendingSocket& socket) {
  // Listener filters may be on the stack: delete on the next loop turn.
  auto it = socket.self_;
  worker_.dispatcher().deferredDelete(std::move(*it));
  pending_.erase(it);
}

void ActiveListener::createConnection(int fd, const network::Address& local,
                                      const network::Address& remote,
                                      const ConnectionMatchInfo& match) {
  const FilterChainConfig* chain = config_->matchFilterChain(match);
  if (chain == nullptr) {
    REMORA_LOG(debug, "listener %s: no filter chain for %s", config_->name.c_str(),
               local.asString().c_str());
    if (config_->no_filter_chain_match) config_->no_filter_chain_match->inc();
    ::close(fd);
    worker_.connectionLimit().release();
    return;
  }
  network::TransportSocketPtr transport = chain->transport
                                              ? chain->transport->createTransportSocket()
                                              : std::make_unique<network::RawTransportSocket>();
  auto connection = std::make_unique<network::ConnectionImpl>(worker_.dispatcher(), fd, local,
                                                              remote, std::move(transport), true);
  connection->setBufferLimits(config_->buffer_limit);
  connection->setHandshakeTimeout(chain->handshake_timeout);
  connection->setStats(config_->downstream_stats);
  for (const auto& factory : chain->filter_factories) factory(*connection, worker_);
  auto& raw = *connection;
  connections_.push_back(std::make_unique<ActiveConnection>(*this, std::move(connection)));
  connections_.back()->self_ = std::prev(connections_.end());
  config_->open_connections.fetch_add(1, std::memory_order_relaxed);
  worker_.onConnectionOpened();
  raw.initializeReadFilters();
  if (draining_) raw.startDrain();
}

void ActiveListener::startDrain(bool keep_accepting) {
  draining_ = keep_accepting;
  // Draining may close connections, which removes them from the list: walk a snapshot.
  std::vector<network::Connection*> open;
  for (auto& connection : connections_) open.push_back(&connection->connection());
  for (auto* connection : open) connection->startDrain();
}

void ActiveListener::removeConnection(ActiveConnection& connection) {
  auto it = connection.self_;
  worker_.dispatcher().deferredDelete(std::move(*it));
  connections_.erase(it);
  config_->open_connections.fetch_sub(1, std::memory_order_relaxed);
  worker_.connectionLimit().release();
  worker_.onConnectionClosed();
}

}  // namespace remora::server
