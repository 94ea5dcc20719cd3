#pragma once

// tcp_proxy: streams bytes both ways between a downstream connection and one host of a
// cluster. Backpressure: when one side's write buffer passes its high watermark, reading from
// the other side pauses until it drains. Half-close is passed through in each direction.

#include <chrono>
#include <memory>
#include <string>

#include "source/interface/network/connection.h"
#include "source/interface/network/filter.h"
#include "source/interface/server/worker_context.h"
#include "source/interface/stats/stats.h"

namespace remora::filters::tcp_proxy {

// Immutable, shared by every connection of the listener.
struct TcpProxyConfig {
  std::string cluster;
  std::string stat_prefix;
  std::chrono::milliseconds idle_timeout{0};  // 0: no idle timeout
  stats::Counter* no_host = nullptr;          // no cluster or no host to connect to
  stats::Counter* connect_failures = nullptr;
  stats::Counter* idle_timeouts = nullptr;
};

class TcpProxyFilter : public network::ReadFilter, public network::ConnectionCallbacks {
 public:
  TcpProxyFilter(std::shared_ptr<const TcpProxyConfig> config, server::WorkerContext& worker);
  ~TcpProxyFilter() override;

  // network::ReadFilter (downstream bytes)
  void initializeReadFilterCallbacks(network::ReadFilterCallbacks& callbacks) override;
  network::ReadFilterStatus onNewConnection() override;
  network::ReadFilterStatus onData(buffer::Instance& data, bool end_stream) override;

  // network::ConnectionCallbacks (downstream events)
  void onEvent(network::ConnectionEvent event) override;
  void onAboveWriteBufferHighWatermark() override;
  void onBelowWriteBufferLowWatermark() override;

 private:
  class Upstream;
  void onUpstreamEvent(network::ConnectionEvent event);
  void onUpstreamData(buffer::Instance& data, bool end_stream);
  void resetIdleTimer();
  void closeUpstream(network::ConnectionCloseType type);

  std::shared_ptr<const TcpProxyConfig> config_;
  server::WorkerContext& worker_;
  network::ReadFilterCallbacks* callbacks_ = nullptr;
  std::shared_ptr<Upstream> upstream_callbacks_;
  network::ClientConnectionPtr upstream_;
  bool upstream_connected_ = false;
  event::TimerPtr idle_timer_;
};

}  // namespace remora::filters::tcp_proxy
