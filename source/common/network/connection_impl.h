#pragma once

// A non-blocking TCP connection driven by its dispatcher: level-triggered read/write events,
// a transport socket for the bytes, read filters, watermark-based backpressure and half-close.

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "source/common/buffer/owned_buffer.h"
#include "source/interface/network/connection.h"
#include "source/interface/network/filter.h"
#include "source/interface/network/transport_socket.h"
#include "source/interface/stats/stats.h"

namespace remora::network {

// Metrics a connection updates as it lives; any handle may be null.
struct ConnectionStats {
  stats::Counter* total = nullptr;
  stats::Gauge* active = nullptr;
  stats::Counter* rx_bytes = nullptr;
  stats::Counter* tx_bytes = nullptr;
  stats::Counter* connect_fail = nullptr;     // client connections only
  stats::Counter* connect_timeout = nullptr;  // client connections only
  // Keeps the metrics above alive as long as the connection: they may belong to a cluster that
  // an update removed while the connection still runs.
  std::shared_ptr<const void> owner;
};

class ConnectionImpl : public virtual Connection,
                       public TransportSocketCallbacks,
                       public ReadFilterCallbacks {
 public:
  // Takes ownership of `fd` (non-blocking). `connected` is false for a client still connecting.
  ConnectionImpl(event::Dispatcher& dispatcher, int fd, Address local, Address remote,
                 TransportSocketPtr transport, bool connected);
  ~ConnectionImpl() override;

  // Counts the connection in `stats` (total and active now; bytes as they move).
  void setStats(const ConnectionStats& stats);
  // A server connection with a secure transport is closed when its handshake has not finished
  // within `timeout` (0: no limit), so a peer that never completes one cannot hold it open.
  // Call right after construction.
  void setHandshakeTimeout(std::chrono::milliseconds timeout);

  // Connection
  uint64_t id() const override { return id_; }
  event::Dispatcher& dispatcher() override { return dispatcher_; }
  State state() const override { return state_; }
  void addConnectionCallbacks(ConnectionCallbacks& callbacks) override;
  void removeConnectionCallbacks(ConnectionCallbacks& callbacks) override;
  void addReadFilter(std::shared_ptr<ReadFilter> filter) override;
  void startDrain() override;
  bool initializeReadFilters() override;
  void write(buffer::Instance& data, bool end_stream) override;
  void close(ConnectionCloseType type) override;
  void readDisable(bool disable) override;
  bool readEnabled() const override { return read_disable_count_ == 0; }
  void enableHalfClose(bool enabled) override { half_close_ = enabled; }
  void setBufferLimits(uint32_t limit) override { buffer_limit_ = limit; }
  bool aboveHighWatermark() const override { return above_high_watermark_; }
  const Address& localAddress() const override { return local_; }
  const Address& remoteAddress() const override { return remote_; }
  uint64_t bytesReceived() const override { return bytes_received_; }
  uint64_t bytesSent() const override { return bytes_sent_; }
  std::string_view failureReason() const override { return failure_reason_; }
  const SslConnectionInfo* ssl() const override { return transport_->ssl(); }
  bool handshakePending() const override {
    return transport_->implementsSecureTransport() && transport_->ssl() == nullptr;
  }
  std::string_view alpn() const override { return alpnStorage(); }

  // TransportSocketCallbacks
  int fd() const override { return fd_; }
  Connection& connection() override { return *this; }
  bool shouldStopReading() const override;
  void raiseEvent(ConnectionEvent event) override;

  // ReadFilterCallbacks
  void continueReading() override;

 protected:
  // Closes the socket now and tells the callbacks `event`.
  void closeSocket(ConnectionEvent event);
  void setFailureReason(std::string reason) { failure_reason_ = std::move(reason); }
  void updateEvents();
  void setLocalAddress(const Address& local) { local_ = local; }
  bool secureTransport() const { return transport_->implementsSecureTransport(); }
  virtual void onConnectFinished();
  // Called by closeSocket() before the close event is raised.
  virtual void onSocketClosed() {}

  event::Dispatcher& dispatcher_;
  int fd_;
  bool connecting_;
  ConnectionStats stats_;

 private:
  struct FilterEntry {
    std::shared_ptr<ReadFilter> filter;
    bool initialized = false;
    bool saw_end_stream = false;
  };

  void onFileReady(uint32_t events);
  void onReadReady();
  void onWriteReady();
  void flushWriteThrough();
  // Runs the read filters from index `first` over the read buffer.
  void deliverToFilters(size_t first);
  void forEachCallback(const std::function<void(ConnectionCallbacks&)>& fn);
  std::string_view alpnStorage() const {
    const SslConnectionInfo* info = transport_->ssl();
    return info == nullptr ? std::string_view() : std::string_view(info->alpn);
  }
  // The transport's own reason for closing when it gave one, else `fallback`.
  void setTransportFailureReason(const char* fallback);
  void checkWatermarks();
  void maybeFinishHalfClose();
  // Raises kConnected once a secure transport's handshake is done, unless it already was (a
  // client's transport raises it itself). Called after the transport's I/O returns.
  void raiseHandshakeDone();

  const uint64_t id_;
  Address local_;
  Address remote_;
  TransportSocketPtr transport_;
  event::FileEventPtr file_event_;
  // Fires on the next loop turn to deliver data already buffered when reading resumes.
  event::TimerPtr resume_timer_;
  // Closes a server connection whose handshake takes too long (setHandshakeTimeout).
  event::TimerPtr handshake_timer_;
  // Reads again when the transport holds decrypted bytes the socket will not signal.
  event::TimerPtr pending_read_timer_;
  // Runs the write-through at the end of the current callback (see write()).
  event::SchedulableCallbackPtr flush_callback_;
  buffer::OwnedBuffer read_buffer_;
  buffer::OwnedBuffer write_buffer_;
  std::vector<FilterEntry> filters_;
  std::vector<ConnectionCallbacks*> callbacks_;
  size_t stopped_at_ = 0;  // the filter that last returned kStop
  State state_ = State::kOpen;
  uint32_t read_disable_count_ = 0;
  uint32_t buffer_limit_ = 0;
  bool above_high_watermark_ = false;
  bool half_close_ = false;
  bool read_end_stream_ = false;            // peer's FIN seen
  bool read_end_stream_delivered_ = false;  // the filters were offered it
  bool write_end_stream_ = false;           // local end requested
  bool write_shutdown_done_ = false;
  bool in_filter_iteration_ = false;
  bool connected_raised_ = false;  // kConnected went to the callbacks
  uint64_t bytes_received_ = 0;
  uint64_t bytes_sent_ = 0;
  std::string failure_reason_;
};

// The client side: connect() with a timeout.
class ClientConnectionImpl : public ConnectionImpl, public ClientConnection {
 public:
  ClientConnectionImpl(event::Dispatcher& dispatcher, const Address& remote,
                       TransportSocketPtr transport, std::chrono::milliseconds connect_timeout);
  void connect() override;
  // Binds the socket to `source` (its port 0: chosen at connect) before connecting; a bind
  // failure is reported as a connect failure. Before connect().
  void setSourceAddress(const Address& source) { source_address_ = source; }
  // The transport's kConnected (after its handshake) ends the connect timeout.
  void raiseEvent(ConnectionEvent event) override;

 private:
  void onConnectFinished() override;
  void onSocketClosed() override;
  // TCP is up but the transport's handshake has not finished: a close now is a connect
  // failure (as a refused TCP connect is).
  bool awaiting_handshake_ = false;
  std::chrono::milliseconds connect_timeout_;
  event::TimerPtr connect_timer_;
  int pending_errno_ = 0;
  Address source_address_;
};

}  // namespace remora::network
