#pragma once

// HTTP/2 codec on nghttp2, server and client. One nghttp2 session per connection; streams are
// kept by id. Received DATA is acknowledged to the peer (window update) only while the stream
// is not read-disabled, so a slow consumer stops the peer instead of growing buffers. Frames
// produced while handling one event are written in one batch.

#include <nghttp2/nghttp2.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "source/common/buffer/owned_buffer.h"
#include "source/interface/http/codec.h"
#include "source/interface/network/connection.h"

namespace remora::http::http2 {

struct Http2Settings {
  uint32_t max_concurrent_streams = 100;
  uint32_t initial_stream_window_size = 256 * 1024;
  uint32_t initial_connection_window_size = 1024 * 1024;
  uint32_t max_header_list_size = 60 * 1024;
  // Queued SETTINGS/PING acknowledgements before a peer that does not read is cut off.
  uint32_t max_outbound_ack = 1000;
  // Incoming RST_STREAM token bucket (the 2023 rapid-reset attack): burst and per second.
  uint32_t reset_burst = 200;
  uint32_t reset_rate = 33;
  // Per-stream buffered outbound bytes above which the producer is told to pause.
  uint32_t stream_buffer_limit = 1024 * 1024;
};

class ConnectionImpl : public virtual Connection {
 public:
  ~ConnectionImpl() override;

  std::optional<CodecError> dispatch(buffer::Instance& data) override;
  std::optional<CodecError> dispatchEndOfStream() override;
  Protocol protocol() const override { return Protocol::kHttp2; }
  void goAway() override;
  void shutdownNotice() override;
  void onUnderlyingConnectionAboveWriteBufferHighWatermark() override;
  void onUnderlyingConnectionBelowWriteBufferLowWatermark() override;

 protected:
  class StreamImpl;
  ConnectionImpl(network::Connection& connection, const Http2Settings& settings, bool server);
  // Sends what nghttp2 has queued, in one connection write.
  void sendPending();
  StreamImpl* stream(int32_t id);
  StreamImpl& addStream(std::unique_ptr<StreamImpl> stream);
  virtual void onStreamBegin(int32_t id) = 0;
  // Client side: a stream's request was submitted and now has its id.
  virtual void onStreamSubmitted(StreamImpl& stream) { (void)stream; }
  virtual void onGoAwayReceived(int32_t last_stream_id) { (void)last_stream_id; }

  network::Connection& connection_;
  Http2Settings settings_;
  nghttp2_session* session_ = nullptr;
  std::map<int32_t, std::unique_ptr<StreamImpl>> streams_;
  // Bytes being fed to nghttp2; frames nghttp2 produced; DATA handed to a stream's decoder.
  buffer::OwnedBuffer input_;
  buffer::OwnedBuffer send_scratch_;
  buffer::OwnedBuffer body_scratch_;
  bool sending_paused_ = false;
  bool dispatching_ = false;
  bool going_away_ = false;

 private:
  friend struct Callbacks;
  int onBeginHeaders(const nghttp2_frame* frame);
  int onHeader(const nghttp2_frame* frame, std::string_view name, std::string_view value);
  int onFrameRecv(const nghttp2_frame* frame);
  int onDataChunk(int32_t stream_id, const uint8_t* data, size_t length);
  int onStreamClose(int32_t stream_id, uint32_t error_code);
  void releaseStream(int32_t id);
};

class ServerConnectionImpl : public ConnectionImpl, public ServerConnection {
 public:
  ServerConnectionImpl(network::Connection& connection, ServerConnectionCallbacks& callbacks,
                       const Http2Settings& settings);
  ~ServerConnectionImpl() override;

 private:
  void onStreamBegin(int32_t id) override;
  ServerConnectionCallbacks& callbacks_;
};

class ClientConnectionImpl : public ConnectionImpl, public ClientConnection {
 public:
  ClientConnectionImpl(network::Connection& connection, ClientConnectionCallbacks& callbacks,
                       const Http2Settings& settings);
  ~ClientConnectionImpl() override;
  RequestEncoder& newStream(StreamDecoder& response_decoder) override;
  uint32_t activeStreams() const override { return static_cast<uint32_t>(streams_.size()); }
  bool canStartStream() const override;

 private:
  void onStreamBegin(int32_t) override {}
  void onStreamSubmitted(StreamImpl& stream) override;
  void onGoAwayReceived(int32_t last_stream_id) override;
  ClientConnectionCallbacks& callbacks_;
  // Streams whose request headers are not submitted yet (no id).
  std::vector<std::unique_ptr<StreamImpl>> pending_;
  bool peer_going_away_ = false;
};

}  // namespace remora::http::http2
