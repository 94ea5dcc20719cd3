#pragma once

// Network filters: per-connection objects that see a connection's bytes. A filter chain is a list
// of factories built once from config on the main thread; each accepted connection gets fresh
// filter instances from them on its worker.

#include <functional>
#include <memory>

#include "source/interface/buffer/buffer.h"
#include "source/interface/network/connection.h"

namespace remora::server {
class WorkerContext;
}

namespace remora::network {

class ReadFilterCallbacks {
 public:
  virtual ~ReadFilterCallbacks() = default;
  virtual Connection& connection() = 0;
  // Resumes delivering buffered data to the filters after one returned kStop.
  virtual void continueReading() = 0;
};

class ReadFilter {
 public:
  virtual ~ReadFilter() = default;
  // Called once before any data. Called on the connection's worker thread.
  virtual void initializeReadFilterCallbacks(ReadFilterCallbacks& callbacks) = 0;
  // The connection is set up; kStop holds back later filters until continueReading().
  virtual ReadFilterStatus onNewConnection() = 0;
  // New bytes arrived in `data` (the connection's read buffer: drain what is consumed).
  // `end_stream` is true once the peer has finished sending (half-close enabled).
  virtual ReadFilterStatus onData(buffer::Instance& data, bool end_stream) = 0;
  // The listener is draining (removed or replaced by a config update): finish what is in
  // flight, tell the peer where the protocol can (HTTP: `connection: close`, GOAWAY), and close
  // once done. Filters that cannot tell the peer do nothing and are closed at the drain
  // deadline.
  virtual void onDrain() {}
};
using ReadFilterSharedPtr = std::shared_ptr<ReadFilter>;

// Installs one filter's instance on a new connection. Runs on the worker thread; must not
// block; captures only immutable config.
using FilterFactoryCb = std::function<void(Connection& connection, server::WorkerContext& worker)>;

}  // namespace remora::network
