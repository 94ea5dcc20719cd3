#pragma once

// One upstream HTTP connection: a client network connection with a client codec on top.
// Bytes read go to the codec; the pool learns when the connection is up, when a stream ends
// (so the connection can take another) and when the connection closes.

#include <chrono>
#include <functional>
#include <list>
#include <memory>

#include "source/interface/http/codec.h"
#include "source/interface/network/connection.h"
#include "source/interface/network/filter.h"
#include "source/interface/upstream/cluster.h"

namespace remora::http {

class CodecClient;

class CodecClientCallbacks {
 public:
  virtual ~CodecClientCallbacks() = default;
  virtual void onConnected(CodecClient& client) = 0;
  // A stream finished (response complete or reset); the client may take another.
  virtual void onStreamDone(CodecClient& client) = 0;
  // The connection closed; `connected` says whether it ever was up.
  virtual void onClosed(CodecClient& client, bool connected, std::string_view reason) = 0;
  virtual void onGoAway(CodecClient& client) = 0;
};

// Makes the client codec for a connection (HTTP/1.1 or HTTP/2).
using ClientCodecFactory = std::function<std::unique_ptr<ClientConnection>(
    network::Connection& connection, ClientConnectionCallbacks& callbacks)>;

// Limits on one upstream connection's life.
struct CodecClientOptions {
  // Streams the connection carries before it is retired; 0 means no limit.
  uint32_t max_requests = 0;
  // A connection with no stream for this long is closed; zero disables.
  std::chrono::milliseconds idle_timeout{0};
};

class CodecClient : public network::ConnectionCallbacks,
                    public ClientConnectionCallbacks,
                    public event::DeferredDeletable {
 public:
  CodecClient(network::ClientConnectionPtr connection, const ClientCodecFactory& codec_factory,
              upstream::HostConstSharedPtr host, CodecClientCallbacks& callbacks,
              CodecClientOptions options = {});
  ~CodecClient() override;

  void connect() { connection_->connect(); }
  // Starts a stream; the response reaches `decoder`. Call only when canStartStream().
  RequestEncoder& newStream(StreamDecoder& decoder);
  bool connected() const { return connected_; }
  bool canStartStream() const {
    return connected_ && !going_away_ && !retiring_ && !exhausted() && codec_->canStartStream();
  }
  uint32_t activeStreams() const { return codec_->activeStreams(); }
  bool goingAway() const { return going_away_; }
  const upstream::HostConstSharedPtr& host() const { return host_; }
  void close();
  // The pool's handle on this client (its place in the pool's list).
  std::list<std::unique_ptr<CodecClient>>::iterator pool_entry;
  // Takes no new stream; closes once the streams in flight end.
  void retireWhenIdle();

  // network::ConnectionCallbacks
  void onEvent(network::ConnectionEvent event) override;
  void onAboveWriteBufferHighWatermark() override;
  void onBelowWriteBufferLowWatermark() override;
  // ClientConnectionCallbacks
  void onGoAway() override;

 private:
  class ReadFilter;
  class ActiveRequest;
  void onData(buffer::Instance& data, bool end_stream);
  void onRequestDone(ActiveRequest& request);
  bool exhausted() const {
    return options_.max_requests != 0 && streams_started_ >= options_.max_requests;
  }
  // Arms the idle timer, or closes on the next loop turn when the connection takes no more
  // streams (never from inside the codec, which may be on the stack).
  void onIdle();

  network::ClientConnectionPtr connection_;
  std::unique_ptr<ClientConnection> codec_;
  upstream::HostConstSharedPtr host_;
  CodecClientCallbacks& callbacks_;
  CodecClientOptions options_;
  event::TimerPtr idle_timer_;
  uint32_t streams_started_ = 0;
  bool retiring_ = false;
  std::list<std::unique_ptr<ActiveRequest>> requests_;
  bool connected_ = false;
  bool going_away_ = false;
  bool closed_ = false;
};
using CodecClientPtr = std::unique_ptr<CodecClient>;

}  // namespace remora::http
