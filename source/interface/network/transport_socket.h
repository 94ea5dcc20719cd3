#pragma once

// The byte transport under a connection: plaintext or TLS. A connection drives its transport
// socket; filters see only the bytes, and the handshake's outcome through ssl().

#include <cstdint>
#include <memory>
#include <string>

#include <string_view>

#include "source/interface/buffer/buffer.h"
#include "source/interface/network/ssl_info.h"

namespace remora::network {

class Connection;
enum class ConnectionEvent;

enum class PostIoAction { kKeepOpen, kClose };

struct IoResult {
  PostIoAction action = PostIoAction::kKeepOpen;
  uint64_t bytes_processed = 0;
  // The peer finished sending (read side only).
  bool end_stream_read = false;
};

// Given by the connection to its transport socket.
class TransportSocketCallbacks {
 public:
  virtual ~TransportSocketCallbacks() = default;
  virtual int fd() const = 0;
  virtual Connection& connection() = 0;
  // True when the connection's read buffer is at its limit: stop reading for this event.
  virtual bool shouldStopReading() const = 0;
  // Reports a transport-level event such as kConnected once a handshake finishes.
  virtual void raiseEvent(ConnectionEvent event) = 0;
};

// Owned by one connection, used only on its thread.
class TransportSocket {
 public:
  virtual ~TransportSocket() = default;
  virtual void setCallbacks(TransportSocketCallbacks& callbacks) = 0;
  // Protocol negotiated by the transport (ALPN), empty when none.
  virtual std::string protocol() const = 0;
  // Reads what is available from the socket into `buffer`.
  virtual IoResult doRead(buffer::Instance& buffer) = 0;
  // Writes what it can of `buffer` (drained as written); when `end_stream` and the buffer
  // empties, ends the write direction (shutdown / close_notify).
  virtual IoResult doWrite(buffer::Instance& buffer, bool end_stream) = 0;
  // The TCP connect completed (client side) or the socket was accepted (server side).
  virtual void onConnected() = 0;
  // Whether the transport has a handshake of its own: then a client connection is reported
  // connected (ConnectionEvent::kConnected, raised by the transport through its callbacks)
  // only once the handshake has finished, and a handshake failure is a connect failure.
  virtual bool implementsSecureTransport() const = 0;
  // False while queued bytes cannot go out yet (a handshake waiting for the peer): the
  // connection does not ask for write events meanwhile.
  virtual bool canFlushWrite() const { return true; }
  // True when the transport holds bytes already read from the socket but not yet returned by
  // doRead (a TLS record larger than what the connection took): the socket will not signal
  // them, so the connection reads again by itself once it wants more.
  virtual bool hasPendingReadData() const { return false; }
  // Why the transport closed, e.g. "TLS handshake failed: certificate_expired"; empty if it
  // did not.
  virtual std::string_view failureReason() const { return {}; }
  // The handshake's outcome; null for plaintext or before the handshake finished.
  virtual const SslConnectionInfo* ssl() const { return nullptr; }
  // The connection gave up waiting for the handshake (its timeout passed): the transport
  // counts the failure and says so in failureReason(). The connection closes right after.
  virtual void onHandshakeTimeout() {}
};
using TransportSocketPtr = std::unique_ptr<TransportSocket>;

// Built on the main thread from config; creates sockets on any worker thread.
class TransportSocketFactory {
 public:
  virtual ~TransportSocketFactory() = default;
  virtual TransportSocketPtr createTransportSocket() const = 0;
  // Has what its sockets need (TLS: a certificate and trust bundle, which may arrive after
  // the config naming them). Listeners and clusters using a factory that is not ready warm.
  virtual bool ready() const { return true; }
};

}  // namespace remora::network
