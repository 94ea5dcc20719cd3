#pragma once

// A TCP connection, downstream (accepted) or upstream (client). Owned by the worker that created
// it and used only on that worker's dispatcher thread.

#include <cstdint>
#include <memory>
#include <string_view>

#include "source/interface/buffer/buffer.h"
#include "source/interface/event/dispatcher.h"
#include "source/interface/network/address.h"
#include "source/interface/network/ssl_info.h"

namespace remora::network {

enum class ConnectionEvent {
  kRemoteClose,  // the peer reset or closed, or an I/O error occurred
  kLocalClose,   // close() was called
  kConnected,    // a client connection finished connecting (and its transport handshake);
                 // a server connection's TLS handshake finished (see handshakePending())
};

enum class ConnectionCloseType {
  kFlushWrite,  // send what is buffered, then close
  kNoFlush,     // close now, discarding buffered output
};

// Observers of a connection's life. Called on the connection's thread.
class ConnectionCallbacks {
 public:
  virtual ~ConnectionCallbacks() = default;
  virtual void onEvent(ConnectionEvent event) = 0;
  // The write buffer rose above its high watermark: the producer should pause.
  virtual void onAboveWriteBufferHighWatermark() {}
  // The write buffer drained below its low watermark: the producer may resume.
  virtual void onBelowWriteBufferLowWatermark() {}
};

enum class ReadFilterStatus { kContinue, kStop };
class ReadFilter;

class Connection : public event::DeferredDeletable {
 public:
  enum class State { kOpen, kClosing, kClosed };

  ~Connection() override = default;

  virtual uint64_t id() const = 0;
  virtual event::Dispatcher& dispatcher() = 0;
  virtual State state() const = 0;

  // Callbacks must outlive the connection or be removed before they are destroyed.
  virtual void addConnectionCallbacks(ConnectionCallbacks& callbacks) = 0;
  virtual void removeConnectionCallbacks(ConnectionCallbacks& callbacks) = 0;
  // Read filters see inbound bytes in the order added. The connection keeps them alive.
  virtual void addReadFilter(std::shared_ptr<ReadFilter> filter) = 0;
  // Calls onNewConnection() on each read filter; false if none remains (connection closed).
  virtual bool initializeReadFilters() = 0;
  // Tells every read filter that the listener drains (ReadFilter::onDrain).
  virtual void startDrain() = 0;

  // Queues `data` (moved out) for sending. With `end_stream`, the write side is shut down after
  // the queued bytes are sent (TCP half-close).
  virtual void write(buffer::Instance& data, bool end_stream) = 0;
  virtual void close(ConnectionCloseType type) = 0;

  // Nestable pause of reading from the socket: each disable must be matched by an enable.
  // Bytes already read stay buffered. Used for backpressure.
  virtual void readDisable(bool disable) = 0;
  virtual bool readEnabled() const = 0;

  // When enabled, a peer's FIN is delivered to filters as end_stream and the connection stays
  // open for writing; otherwise a FIN closes the connection.
  virtual void enableHalfClose(bool enabled) = 0;

  // Bytes buffered for writing above which the high-watermark callback fires (low = half).
  // Also caps how much one read event pulls from the socket. 0 means unlimited.
  virtual void setBufferLimits(uint32_t limit) = 0;
  virtual bool aboveHighWatermark() const = 0;

  virtual const Address& localAddress() const = 0;
  virtual const Address& remoteAddress() const = 0;

  // Totals of bytes read from and written to the socket so far.
  virtual uint64_t bytesReceived() const = 0;
  virtual uint64_t bytesSent() const = 0;

  // Short reason for the last local close or failure, for logs ("connect timeout", ...).
  virtual std::string_view failureReason() const = 0;
  // The TLS handshake's outcome (peer identity, SNI, ALPN); null for plaintext connections or
  // while the handshake is still running.
  virtual const SslConnectionInfo* ssl() const { return nullptr; }
  // True while the transport's handshake (TLS) has not finished: ssl() is null until then. A
  // server connection raises kConnected to its callbacks when the handshake finishes, from the
  // event loop after the transport's I/O has returned, so a callback may close the connection
  // or resume its read filters; a failed handshake closes the connection instead. Filters that
  // need the peer's identity before letting bytes through (authorization) wait for it.
  virtual bool handshakePending() const { return false; }
  // The protocol agreed by ALPN ("h2", "http/1.1"), empty when none.
  virtual std::string_view alpn() const { return {}; }
};
using ConnectionPtr = std::unique_ptr<Connection>;

class ClientConnection : public virtual Connection {
 public:
  // Starts a non-blocking connect; completion arrives as kConnected or kRemoteClose.
  virtual void connect() = 0;
};
using ClientConnectionPtr = std::unique_ptr<ClientConnection>;

}  // namespace remora::network
