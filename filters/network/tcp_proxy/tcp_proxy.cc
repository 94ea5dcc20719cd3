#include "filters/network/tcp_proxy/tcp_proxy.h"

#include "source/common/common/logger.h"
#include "source/interface/upstream/load_balancer.h"

namespace remora::filters::tcp_proxy {

// Receives the upstream connection's bytes and events and hands them to the filter. A separate
// object because the filter already is the downstream's ReadFilter and ConnectionCallbacks.
class TcpProxyFilter::Upstream : public network::ReadFilter, public network::ConnectionCallbacks {
 public:
  explicit Upstream(TcpProxyFilter& parent) : parent_(&parent) {}
  void detach() { parent_ = nullptr; }

  void initializeReadFilterCallbacks(network::ReadFilterCallbacks&) override {}
  network::ReadFilterStatus onNewConnection() override {
    return network::ReadFilterStatus::kContinue;
  }
  network::ReadFilterStatus onData(buffer::Instance& data, bool end_stream) override {
    if (parent_) parent_->onUpstreamData(data, end_stream);
    return network::ReadFilterStatus::kStop;
  }
  void onEvent(network::ConnectionEvent event) override {
    if (parent_) parent_->onUpstreamEvent(event);
  }
  void onAboveWriteBufferHighWatermark() override {
    if (parent_) parent_->callbacks_->connection().readDisable(true);
  }
  void onBelowWriteBufferLowWatermark() override {
    if (parent_) parent_->callbacks_->connection().readDisable(false);
  }

 private:
  TcpProxyFilter* parent_;
};

TcpProxyFilter::TcpProxyFilter(std::shared_ptr<const TcpProxyConfig> config,
                               server::WorkerContext& worker)
    : config_(std::move(config)), worker_(worker) {}

TcpProxyFilter::~TcpProxyFilter() {
  if (upstream_callbacks_) upstream_callbacks_->detach();
  if (upstream_) {
    upstream_->removeConnectionCallbacks(*upstream_callbacks_);
    upstream_->close(network::ConnectionCloseType::kNoFlush);
  }
}

void TcpProxyFilter::initializeReadFilterCallbacks(network::ReadFilterCallbacks& callbacks) {
  callbacks_ = &callbacks;
  callbacks_->connection().addConnectionCallbacks(*this);
  callbacks_->connection().enableHalfClose(true);
}

network::ReadFilterStatus TcpProxyFilter::onNewConnection() {
  auto& downstream = callbacks_->connection();
  auto* cluster = worker_.clusterManager().getCluster(config_->cluster);
  // ORIGINAL_DST clusters connect to where the client was going.
  struct Context : upstream::LoadBalancerContext {
    const network::Address* destination;
    const network::Address* originalDestination() const override { return destination; }
  } context;
  context.destination = downstream.localAddress().valid() ? &downstream.localAddress() : nullptr;
  auto host = cluster ? cluster->chooseHost(&context) : nullptr;
  if (!host) {
    REMORA_LOG(debug, "[C%lu] tcp_proxy %s: no host in cluster %s", downstream.id(),
               config_->stat_prefix.c_str(), config_->cluster.c_str());
    if (config_->no_host) config_->no_host->inc();
    downstream.close(network::ConnectionCloseType::kNoFlush);
    return network::ReadFilterStatus::kStop;
  }
  upstream_callbacks_ = std::make_shared<Upstream>(*this);
  upstream_ = cluster->createConnection(host);
  upstream_->enableHalfClose(true);
  upstream_->addConnectionCallbacks(*upstream_callbacks_);
  upstream_->addReadFilter(upstream_callbacks_);
  // Downstream bytes wait in the kernel until the upstream is there to take them, so a
  // connect that never completes buffers nothing.
  downstream.readDisable(true);
  upstream_->connect();
  if (config_->idle_timeout.count() > 0) {
    idle_timer_ = worker_.dispatcher().createTimer([this] {
      if (config_->idle_timeouts) config_->idle_timeouts->inc();
      REMORA_LOG(debug, "[C%lu] tcp_proxy idle timeout", callbacks_->connection().id());
      closeUpstream(network::ConnectionCloseType::kNoFlush);
      callbacks_->connection().close(network::ConnectionCloseType::kNoFlush);
    });
    resetIdleTimer();
  }
  return network::ReadFilterStatus::kContinue;
}

network::ReadFilterStatus TcpProxyFilter::onData(buffer::Instance& data, bool end_stream) {
  if (upstream_ && upstream_connected_) {
    upstream_->write(data, end_stream);
    resetIdleTimer();
  }
  return network::ReadFilterStatus::kStop;
}

void TcpProxyFilter::onUpstreamData(buffer::Instance& data, bool end_stream) {
  callbacks_->connection().write(data, end_stream);
  resetIdleTimer();
}

void TcpProxyFilter::onUpstreamEvent(network::ConnectionEvent event) {
  auto& downstream = callbacks_->connection();
  if (event == network::ConnectionEvent::kConnected) {
    upstream_connected_ = true;
    upstream_->initializeReadFilters();
    downstream.readDisable(false);
    return;
  }
  if (!upstream_connected_) {
    REMORA_LOG(debug, "[C%lu] tcp_proxy: upstream %s: %s", downstream.id(),
               upstream_->remoteAddress().asString().c_str(),
               std::string(upstream_->failureReason()).c_str());
    if (config_->connect_failures) config_->connect_failures->inc();
  }
  // The upstream is gone: send the downstream what it already sent us, then close.
  auto closed = std::move(upstream_);
  worker_.dispatcher().deferredDelete(std::move(closed));
  downstream.close(upstream_connected_ ? network::ConnectionCloseType::kFlushWrite
                                       : network::ConnectionCloseType::kNoFlush);
}

void TcpProxyFilter::onEvent(network::ConnectionEvent event) {
  if (event == network::ConnectionEvent::kConnected) return;
  closeUpstream(network::ConnectionCloseType::kFlushWrite);
  idle_timer_.reset();
}

void TcpProxyFilter::onAboveWriteBufferHighWatermark() {
  if (upstream_) upstream_->readDisable(true);
}

void TcpProxyFilter::onBelowWriteBufferLowWatermark() {
  if (upstream_) upstream_->readDisable(false);
}

void TcpProxyFilter::resetIdleTimer() {
  if (idle_timer_) idle_timer_->enable(config_->idle_timeout);
}

void TcpProxyFilter::closeUpstream(network::ConnectionCloseType type) {
  if (!upstream_) return;
  network::ConnectionPtr closing = std::move(upstream_);
  closing->removeConnectionCallbacks(*upstream_callbacks_);
  upstream_callbacks_->detach();
  if (type == network::ConnectionCloseType::kFlushWrite && upstream_connected_) {
    // Bytes the downstream sent before leaving still reach the upstream.
    worker_.adoptClosingConnection(std::move(closing));
    return;
  }
  closing->close(network::ConnectionCloseType::kNoFlush);
  worker_.dispatcher().deferredDelete(std::move(closing));
}

}  // namespace remora::filters::tcp_proxy
