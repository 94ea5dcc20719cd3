#pragma once

// Upstream HTTP connection pools: one per worker, per host, per protocol. A pool hands out a
// request stream on a ready connection, opening connections as needed and queueing requests
// while they connect. Used only on its worker's thread.

#include <memory>
#include <string_view>

#include "source/interface/http/codec.h"
#include "source/interface/upstream/cluster.h"

namespace remora::http {

enum class PoolFailureReason {
  kConnectionFailure,  // connect refused, reset or timed out
  kOverflow,           // the pool's queue or connection limit is full
};

class PoolCallbacks {
 public:
  virtual ~PoolCallbacks() = default;
  // A stream is ready: send the request through `encoder`. Its response goes to the decoder
  // given to newStream().
  virtual void onPoolReady(RequestEncoder& encoder, const upstream::HostConstSharedPtr& host) = 0;
  virtual void onPoolFailure(PoolFailureReason reason, std::string_view details,
                             const upstream::HostConstSharedPtr& host) = 0;
};

// A queued request that has not got a stream yet.
class PendingRequest {
 public:
  virtual ~PendingRequest() = default;
  // Withdraws the request; no callback follows.
  virtual void cancel() = 0;
};

class ConnectionPool {
 public:
  virtual ~ConnectionPool() = default;
  // Asks for a stream. Either calls back before returning (and returns null) or returns a
  // handle valid until a callback or cancel().
  virtual PendingRequest* newStream(StreamDecoder& response_decoder, PoolCallbacks& callbacks) = 0;
  virtual Protocol protocol() const = 0;
  // Closes idle connections and lets busy ones finish (for host removal and shutdown).
  virtual void drainConnections() = 0;
};

}  // namespace remora::http
