#include "source/server/worker.h"

#include <pthread.h>

#include "source/common/common/logger.h"
#include "source/common/http/http1/client_codec.h"
#include "source/common/http/http2/codec_impl.h"

namespace remora::server {
namespace {
// How long a flush-closing connection may take to drain before it is cut.
constexpr std::chrono::seconds kFlushCloseTimeout{30};

// Client codecs for the clusters' HTTP pools.
upstream::ClientCodecFactoryProvider clientCodecs() {
  return [](http::Protocol protocol) -> http::ClientCodecFactory {
    if (protocol == http::Protocol::kHttp2) {
      return [](network::Connection& connection, http::ClientConnectionCallbacks& callbacks)
                 -> std::unique_ptr<http::ClientConnection> {
        return std::make_unique<http::http2::ClientConnectionImpl>(connection, callbacks,
                                                                   http::http2::Http2Settings{});
      };
    }
    return
        [](network::Connection& connection,
           http::ClientConnectionCallbacks& callbacks) -> std::unique_ptr<http::ClientConnection> {
          return std::make_unique<http::http1::ClientConnectionImpl>(connection, callbacks,
                                                                     http::http1::Http1Settings{});
        };
  };
}
}  // namespace

class Worker::ClosingConnection : public network::ConnectionCallbacks,
                                  public event::DeferredDeletable {
 public:
  ClosingConnection(Worker& worker, network::ConnectionPtr connection)
      : worker_(worker), connection_(std::move(connection)) {
    connection_->addConnectionCallbacks(*this);
    timer_ = worker_.dispatcher_.createTimer(
        [this] { connection_->close(network::ConnectionCloseType::kNoFlush); });
    timer_->enable(kFlushCloseTimeout);
  }
  void start() { connection_->close(network::ConnectionCloseType::kFlushWrite); }
  void onEvent(network::ConnectionEvent event) override {
    if (event == network::ConnectionEvent::kConnected) return;
    timer_.reset();
    auto it = self_;
    worker_.dispatcher_.deferredDelete(std::move(*it));
    worker_.closing_.erase(it);
    worker_.onConnectionClosed();
  }
  std::list<std::unique_ptr<ClosingConnection>>::iterator self_;

 private:
  Worker& worker_;
  network::ConnectionPtr connection_;
  event::TimerPtr timer_;
};

Worker::Worker(uint32_t index, DownstreamConnectionLimit& limit)
    : index_(index),
      limit_(limit),
      dispatcher_("worker_" + std::to_string(index)),
      cluster_manager_(dispatcher_, clientCodecs()) {
  cluster_manager_.setSelfConnectionGuard(&self_connection_guard_);
}

void Worker::setOwnAddresses(std::vector<network::Address> addresses) {
  dispatcher_.post([this, addresses = std::move(addresses)]() mutable {
    self_connection_guard_.setListenerAddresses(std::move(addresses));
  });
}

Worker::~Worker() { stop(); }

void Worker::start() {
  thread_ = std::thread([this] {
    std::string name = "worker_" + std::to_string(index_);
    pthread_setname_np(pthread_self(), name.c_str());
    setCurrentWorkerIndex(index_);
    dispatcher_.run();
  });
}

void Worker::updateClusters(std::vector<upstream::ClusterInfoConstSharedPtr> upserts,
                            std::vector<std::string> removed) {
  dispatcher_.post([this, upserts = std::move(upserts), removed = std::move(removed)] {
    cluster_manager_.applyDelta(upserts, removed);
  });
}

void Worker::setRoutes(std::shared_ptr<RdsRouteConfigProvider> provider,
                       std::shared_ptr<const router::RouteTable> table) {
  dispatcher_.post([this, provider = std::move(provider), table = std::move(table)]() mutable {
    provider->setOnWorker(index_, std::move(table));
  });
}

void Worker::drainListeners(std::string name, const ListenerConfig* keep,
                            std::chrono::milliseconds drain_time) {
  dispatcher_.post([this, name = std::move(name), keep, drain_time] {
    auto deadline = std::chrono::steady_clock::now() + drain_time;
    for (auto it = listeners_.begin(); it != listeners_.end();) {
      if ((*it)->config().name != name || &(*it)->config() == keep) {
        ++it;
        continue;
      }
      (*it)->stopAccepting();
      (*it)->startDrain();
      draining_listeners_.push_back({std::move(*it), deadline});
      it = listeners_.erase(it);
    }
    reapDrainingListeners();
  });
}

void Worker::reapDrainingListeners() {
  auto now = std::chrono::steady_clock::now();
  // Destroying a listener closes what is still open: only once idle or out of time.
  std::erase_if(draining_listeners_, [now](const DrainingListener& draining) {
    return draining.listener->connectionCount() == 0 || now >= draining.deadline;
  });
  if (draining_listeners_.empty()) return;
  if (!drain_timer_) drain_timer_ = dispatcher_.createTimer([this] { reapDrainingListeners(); });
  drain_timer_->enable(std::chrono::milliseconds(200));
}

void Worker::addListener(ListenerConfigConstSharedPtr config, int listen_fd,
                         std::function<void()> done) {
  dispatcher_.post([this, config = std::move(config), listen_fd, done = std::move(done)] {
    listeners_.push_back(std::make_unique<ActiveListener>(*this, config, listen_fd));
    if (done) done();
  });
}

void Worker::drainForShutdown() {
  dispatcher_.post([this] {
    using config::listener::v1::TrafficDirection;
    for (auto& listener : listeners_) {
      switch (listener->config().traffic_direction) {
        case TrafficDirection::OUTBOUND:
          break;
        case TrafficDirection::INBOUND:
          listener->startDrain(/*keep_accepting=*/true);
          break;
        default:
          listener->stopAccepting();
          listener->startDrain(/*keep_accepting=*/false);
          break;
      }
    }
  });
}

void Worker::stop() {
  if (!thread_.joinable()) return;
  dispatcher_.post([this] {
    // Tear down on this thread, where the connections live; run() deletes what this defers
    // before it returns.
    listeners_.clear();
    draining_listeners_.clear();
    while (!closing_.empty()) closing_.front()->onEvent(network::ConnectionEvent::kLocalClose);
    dispatcher_.exit();
  });
  thread_.join();
}

void Worker::adoptClosingConnection(network::ConnectionPtr connection) {
  if (connection->state() == network::Connection::State::kClosed) {
    dispatcher_.deferredDelete(std::move(connection));
    return;
  }
  onConnectionOpened();
  closing_.push_back(std::make_unique<ClosingConnection>(*this, std::move(connection)));
  closing_.back()->self_ = std::prev(closing_.end());
  closing_.back()->start();
}

}  // namespace remora::server
