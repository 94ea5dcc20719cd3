#pragma once

// One bidirectional gRPC call over the proxy's own HTTP/2 client (no gRPC library): a POST
// with `content-type: application/grpc` whose request and response bodies are sequences of
// length-prefixed messages (1 byte compressed flag, 4 bytes big-endian length, the bytes).
// The call ends with trailers carrying grpc-status, a stream reset or the connection closing;
// the owner is then told once, and may start a new call.

#include <google/protobuf/message.h>

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "source/common/buffer/owned_buffer.h"
#include "source/common/http/conn_pool/codec_client.h"
#include "source/interface/event/dispatcher.h"
#include "source/interface/network/address.h"
#include "source/interface/network/transport_socket.h"

namespace remora::config {

class GrpcStreamCallbacks {
 public:
  virtual ~GrpcStreamCallbacks() = default;
  // The connection is up and the call started: requests may be sent.
  virtual void onStreamReady() = 0;
  // One whole response message (serialized).
  virtual void onMessage(const std::string& bytes) = 0;
  // The call is over: `status` is the gRPC status (14 UNAVAILABLE for transport failures),
  // `message` says why.
  virtual void onStreamClosed(int status, const std::string& message) = 0;
};

struct GrpcStreamOptions {
  // Makes the connection's transport, e.g. TLS offering ALPN h2 (null: cleartext HTTP/2).
  std::shared_ptr<network::TransportSocketFactory> transport;
  // The :authority sent (empty: the address).
  std::string authority;
  // Request metadata, e.g. {"authorization", "Bearer <token>"}.
  std::vector<std::pair<std::string, std::string>> metadata;
};

class GrpcStream : public http::CodecClientCallbacks,
                   public http::StreamDecoder,
                   public http::StreamCallbacks {
 public:
  // `path` is "/package.Service/Method".
  GrpcStream(event::Dispatcher& dispatcher, network::Address address, std::string path,
             GrpcStreamCallbacks& callbacks, std::chrono::milliseconds connect_timeout,
             GrpcStreamOptions options = {});
  ~GrpcStream() override;

  // Connects and starts the call; the outcome arrives through the callbacks.
  void start();
  // Sends one request message; `end_stream` half-closes the call (a unary call's only
  // message). Only between onStreamReady() and onStreamClosed().
  void send(const google::protobuf::Message& message, bool end_stream = false);
  // Ends the call from this side (no callback follows).
  void close();
  bool ready() const { return encoder_ != nullptr; }

  // http::CodecClientCallbacks
  void onConnected(http::CodecClient& client) override;
  void onStreamDone(http::CodecClient&) override {}
  void onClosed(http::CodecClient& client, bool connected, std::string_view reason) override;
  void onGoAway(http::CodecClient&) override {}
  // http::StreamDecoder
  void decodeHeaders(std::unique_ptr<http::HeaderMap> headers, bool end_stream) override;
  void decodeData(buffer::Instance& data, bool end_stream) override;
  void decodeTrailers(std::unique_ptr<http::HeaderMap> trailers) override;
  // http::StreamCallbacks
  void onResetStream(http::StreamResetReason reason, std::string_view details) override;

 private:
  void finish(int status, const std::string& message);
  void onStatusHeaders(const http::HeaderMap& headers);

  event::Dispatcher& dispatcher_;
  network::Address address_;
  std::string path_;
  GrpcStreamCallbacks& callbacks_;
  std::chrono::milliseconds connect_timeout_;
  GrpcStreamOptions options_;
  std::unique_ptr<http::CodecClient> client_;
  http::RequestEncoder* encoder_ = nullptr;
  buffer::OwnedBuffer pending_;
  bool finished_ = false;
  bool connection_closed_ = false;
  bool in_reset_ = false;
  // Expires with this object: a posted report checks it first.
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace remora::config
