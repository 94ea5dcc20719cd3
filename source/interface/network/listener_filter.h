#pragma once

// Listener filters run on an accepted socket before a filter chain is chosen: they may read
// socket options (original destination) or peek at the first bytes (TLS SNI, HTTP).

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "source/interface/event/dispatcher.h"
#include "source/interface/network/address.h"

namespace remora::network {

// An accepted socket not yet wrapped in a Connection. Listener filters fill in what they learn.
class AcceptedSocket {
 public:
  virtual ~AcceptedSocket() = default;
  virtual int fd() const = 0;
  virtual const Address& remoteAddress() const = 0;
  virtual const Address& localAddress() const = 0;
  // Replaces the local address, e.g. with the original destination of a redirected socket.
  virtual void restoreLocalAddress(const Address& original) = 0;
  virtual bool localAddressRestored() const = 0;
  // Detected by inspection filters; empty when unknown. Transport: "tls" or "raw_buffer".
  virtual void setDetectedTransportProtocol(std::string protocol) = 0;
  virtual const std::string& detectedTransportProtocol() const = 0;
  // Application protocols: from TLS ALPN ("h2", "http/1.1"), or for plaintext "http/1.0",
  // "http/1.1" or "h2c".
  virtual void setDetectedApplicationProtocols(std::vector<std::string> protocols) = 0;
  virtual const std::vector<std::string>& detectedApplicationProtocols() const = 0;
  // The TLS SNI host name, lower-cased; empty when none.
  virtual void setRequestedServerName(std::string name) = 0;
  virtual const std::string& requestedServerName() const = 0;
};

class ListenerFilterCallbacks {
 public:
  virtual ~ListenerFilterCallbacks() = default;
  virtual AcceptedSocket& socket() = 0;
  virtual event::Dispatcher& dispatcher() = 0;
  // False when the socket's destination alone decides its filter chain (the first chain that
  // matches the destination asks nothing about the protocol): inspecting it would only add
  // latency, so inspection filters skip it.
  virtual bool filterChainDependsOnProtocol() const = 0;
  // Ends a filter that returned kStop: continue with the next filter, or close the socket.
  virtual void continueFilterChain(bool success) = 0;
};

enum class ListenerFilterStatus { kContinue, kStop };

class ListenerFilter {
 public:
  virtual ~ListenerFilter() = default;
  // kStop: the filter will call continueFilterChain() later (bounded by the listener's
  // listener_filters_timeout).
  virtual ListenerFilterStatus onAccept(ListenerFilterCallbacks& callbacks) = 0;
};
using ListenerFilterPtr = std::unique_ptr<ListenerFilter>;

// Creates a listener filter instance for one accepted socket, on the worker thread.
using ListenerFilterFactoryCb = std::function<ListenerFilterPtr()>;

}  // namespace remora::network
