#pragma once

// http_connection_manager: the network filter that speaks HTTP on a downstream connection.
// It picks the codec (HTTP/2 when the connection opens with the HTTP/2 preface, else
// HTTP/1.1), makes an ActiveStream per request, and enforces the connection's timeouts.

#include <list>
#include <memory>

#include "filters/network/http_connection_manager/active_stream.h"
#include "filters/network/http_connection_manager/hcm_config.h"
#include "source/interface/http/codec.h"
#include "source/interface/network/filter.h"
#include "source/interface/server/worker_context.h"

namespace remora::filters::hcm {

class ConnectionManager : public network::ReadFilter,
                          public network::ConnectionCallbacks,
                          public http::ServerConnectionCallbacks {
 public:
  ConnectionManager(std::shared_ptr<const HcmConfig> config, server::WorkerContext& worker);
  ~ConnectionManager() override;

  // network::ReadFilter
  void initializeReadFilterCallbacks(network::ReadFilterCallbacks& callbacks) override;
  network::ReadFilterStatus onNewConnection() override;
  network::ReadFilterStatus onData(buffer::Instance& data, bool end_stream) override;
  // Idle: closes now. Otherwise HTTP/1.1 answers the request in flight with
  // `connection: close`; HTTP/2 sends a shutdown notice, then GOAWAY after kDrainGoAwayDelay,
  // and closes when its last stream ends.
  // A connection that has not sent its first bytes yet is served once, then closed the
  // same way.
  void onDrain() override;

  // network::ConnectionCallbacks
  void onEvent(network::ConnectionEvent event) override;
  void onAboveWriteBufferHighWatermark() override;
  void onBelowWriteBufferLowWatermark() override;

  // http::ServerConnectionCallbacks
  http::StreamDecoder& newStream(http::ResponseEncoder& encoder) override;

  // For ActiveStream.
  const HcmConfig& config() const { return *config_; }
  // This connection's per-source counters (its client identity is fixed once TLS is up, which
  // is before the first request); null when the config has none.
  const SourceStats::Classes* sourceStats();
  server::WorkerContext& worker() { return worker_; }
  network::Connection& connection() { return callbacks_->connection(); }
  http::Protocol protocol() const;
  // From a generator per worker thread, seeded once from the OS.
  uint64_t random();
  void onStreamComplete(ActiveStream& stream);
  // A request's headers arrived: the header-read deadline is met.
  void onRequestHeadersComplete();

 private:
  // Chooses and creates the codec once enough bytes are here; false to wait for more.
  // onDrain's work once a codec exists; `fresh`: no request has been read yet.
  void applyDrain(bool fresh);
  bool createCodec(buffer::Instance& data);
  void sendRawErrorAndClose(int status, const std::string& details);
  void updateIdleTimer();

  std::shared_ptr<const HcmConfig> config_;
  const SourceStats::Classes* source_stats_ = nullptr;
  server::WorkerContext& worker_;
  network::ReadFilterCallbacks* callbacks_ = nullptr;
  std::unique_ptr<http::ServerConnection> codec_;
  std::list<std::unique_ptr<ActiveStream>> streams_;
  uint64_t next_stream_id_ = 1;
  event::TimerPtr headers_timer_;
  event::TimerPtr idle_timer_;
  event::TimerPtr drain_timer_;
  bool closed_ = false;
  bool draining_ = false;
};

}  // namespace remora::filters::hcm
