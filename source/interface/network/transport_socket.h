#pragma once

// The byte transport under a connection: plaintext today, TLS later. A connection drives its
// transport socket; filters never see which one is in use.

#include <cstdint>
#include <memory>
#include <string>

#include "source/interface/buffer/buffer.h"

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
  // Whether the transport can report the connection established as soon as TCP is.
  virtual bool implementsSecureTransport() const = 0;
};
using TransportSocketPtr = std::unique_ptr<TransportSocket>;

// Built on the main thread from config; creates sockets on any worker thread.
class TransportSocketFactory {
 public:
  virtual ~TransportSocketFactory() = default;
  virtual TransportSocketPtr createTransportSocket() const = 0;
};

}  // namespace remora::network
