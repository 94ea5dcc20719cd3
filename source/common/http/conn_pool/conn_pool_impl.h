#pragma once

// A connection pool to one upstream host, for HTTP/1.1 or HTTP/2. HTTP/1.1 connections carry
// one stream at a time, HTTP/2 connections as many as the server allows; the pool opens
// connections when the ready ones are full and queues requests while they connect.

#include <list>
#include <memory>

#include "source/common/http/conn_pool/codec_client.h"
#include "source/common/upstream/resource_manager.h"
#include "source/interface/event/dispatcher.h"
#include "source/interface/http/conn_pool.h"

namespace remora::http {

struct ConnPoolLimits {
  uint32_t max_connections = 1024;
  uint32_t max_pending_requests = 1024;
  // The cluster's circuit breakers, shared with every other pool of the cluster (optional).
  upstream::Resource* cluster_connections = nullptr;
  upstream::Resource* cluster_pending = nullptr;
  // Per-connection limits (requests before retiring, idle timeout).
  CodecClientOptions connection;
};

class ConnPoolImpl : public ConnectionPool, public CodecClientCallbacks {
 public:
  // `connect` makes a new, unconnected client connection to the host (the cluster's transport,
  // timeouts and stats applied).
  using ConnectionFactory = std::function<network::ClientConnectionPtr()>;

  ConnPoolImpl(event::Dispatcher& dispatcher, upstream::HostConstSharedPtr host, Protocol protocol,
               ConnectionFactory connect, ClientCodecFactory codec_factory, ConnPoolLimits limits);
  ~ConnPoolImpl() override;

  PendingRequest* newStream(StreamDecoder& response_decoder, PoolCallbacks& callbacks) override;
  Protocol protocol() const override { return protocol_; }
  void drainConnections() override;

  // CodecClientCallbacks
  void onConnected(CodecClient& client) override;
  void onStreamDone(CodecClient& client) override;
  void onClosed(CodecClient& client, bool connected, std::string_view reason) override;
  void onGoAway(CodecClient& client) override;

  size_t connectionCount() const { return clients_.size(); }
  size_t pendingCount() const { return pending_.size(); }

 private:
  class Pending;

  void attachPending();
  // Opens another connection when the connecting ones cannot absorb the queue.
  void maybeConnect();
  uint32_t connectingCapacity() const;
  void onPendingCancelled(Pending& pending);
  // Takes the first pending request off the queue (its breaker slot is released).
  std::unique_ptr<Pending> popPending(bool front);

  event::Dispatcher& dispatcher_;
  upstream::HostConstSharedPtr host_;
  Protocol protocol_;
  ConnectionFactory connect_;
  ClientCodecFactory codec_factory_;
  ConnPoolLimits limits_;
  std::list<std::unique_ptr<CodecClient>> clients_;
  std::list<std::unique_ptr<Pending>> pending_;
  event::TimerPtr attach_timer_;
};

}  // namespace remora::http
