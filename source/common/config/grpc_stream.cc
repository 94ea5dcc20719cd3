#include "source/common/config/grpc_stream.h"

#include <arpa/inet.h>

#include <cstring>

#include "source/common/http/http2/codec_impl.h"
#include "source/common/network/connection_impl.h"
#include "source/common/network/raw_transport_socket.h"

namespace remora::config {
namespace {
constexpr int kUnavailable = 14;
constexpr int kInternal = 13;
// A response message larger than this ends the call (a control plane gone wrong).
constexpr uint32_t kMaxMessageBytes = 64u * 1024 * 1024;
}  // namespace

GrpcStream::GrpcStream(event::Dispatcher& dispatcher, network::Address address, std::string path,
                       GrpcStreamCallbacks& callbacks, std::chrono::milliseconds connect_timeout,
                       GrpcStreamOptions options)
    : dispatcher_(dispatcher),
      address_(std::move(address)),
      path_(std::move(path)),
      callbacks_(callbacks),
      connect_timeout_(connect_timeout),
      options_(std::move(options)) {}

GrpcStream::~GrpcStream() { close(); }

void GrpcStream::start() {
  auto host = std::make_shared<upstream::Host>();
  host->address = address_;
  network::TransportSocketPtr transport =
      options_.transport ? options_.transport->createTransportSocket()
                         : std::make_unique<network::RawTransportSocket>();
  auto connection = std::make_unique<network::ClientConnectionImpl>(
      dispatcher_, address_, std::move(transport), connect_timeout_);
  http::ClientCodecFactory codec =
      [](network::Connection& c,
         http::ClientConnectionCallbacks& cb) -> std::unique_ptr<http::ClientConnection> {
    http::http2::Http2Settings settings;
    // Config pushes can be large: a generous window keeps them flowing.
    settings.initial_stream_window_size = 16 * 1024 * 1024;
    settings.initial_connection_window_size = 16 * 1024 * 1024;
    return std::make_unique<http::http2::ClientConnectionImpl>(c, cb, settings);
  };
  client_ = std::make_unique<http::CodecClient>(std::move(connection), codec, host, *this);
  client_->connect();
}

void GrpcStream::onConnected(http::CodecClient& client) {
  encoder_ = &client.newStream(*this);
  encoder_->stream().addCallbacks(*this);
  http::HeaderMap headers;
  headers.add(":method", "POST");
  headers.add(":scheme", options_.transport ? "https" : "http");
  headers.add(":path", path_);
  headers.add(":authority", options_.authority.empty() ? address_.asString() : options_.authority);
  headers.add("content-type", "application/grpc");
  headers.add("te", "trailers");
  for (const auto& [name, value] : options_.metadata) headers.add(name, value);
  encoder_->encodeHeaders(headers, false);
  callbacks_.onStreamReady();
}

void GrpcStream::send(const google::protobuf::Message& message, bool end_stream) {
  if (encoder_ == nullptr) return;
  std::string bytes = message.SerializeAsString();
  uint8_t prefix[5] = {0};
  uint32_t length = htonl(static_cast<uint32_t>(bytes.size()));
  std::memcpy(prefix + 1, &length, 4);
  buffer::OwnedBuffer frame;
  frame.add(prefix, sizeof(prefix));
  frame.add(bytes);
  encoder_->encodeData(frame, end_stream);
}

void GrpcStream::close() {
  bool was_finished = finished_;
  finished_ = true;
  if (client_) {
    if (!was_finished && encoder_ != nullptr) encoder_->stream().removeCallbacks(*this);
    encoder_ = nullptr;
    client_->close();
    dispatcher_.deferredDelete(std::move(client_));
  }
  encoder_ = nullptr;
}

void GrpcStream::onClosed(http::CodecClient&, bool connected, std::string_view reason) {
  connection_closed_ = true;
  in_reset_ = true;  // any stream went with the connection
  finish(kUnavailable, (connected ? "connection closed: " : "cannot connect: ") +
                           std::string(reason.empty() ? "closed" : reason));
}

void GrpcStream::onStatusHeaders(const http::HeaderMap& headers) {
  auto status = headers.get("grpc-status");
  if (!status) return;
  int code = std::atoi(std::string(*status).c_str());
  std::string message(headers.get("grpc-message").value_or(""));
  finish(code, message.empty() ? "stream ended with grpc-status " + std::string(*status) : message);
}

void GrpcStream::decodeHeaders(std::unique_ptr<http::HeaderMap> headers, bool end_stream) {
  auto status = headers->get(":status");
  if (status && *status != "200") {
    finish(kUnavailable, "control plane answered HTTP " + std::string(*status));
    return;
  }
  // Trailers-only responses carry grpc-status in the headers.
  onStatusHeaders(*headers);
  if (end_stream) finish(kInternal, "stream ended without grpc-status");
}

void GrpcStream::decodeData(buffer::Instance& data, bool end_stream) {
  pending_.move(data);
  while (!finished_ && pending_.length() >= 5) {
    uint8_t prefix[5];
    pending_.copyOut(0, 5, prefix);
    uint32_t length;
    std::memcpy(&length, prefix + 1, 4);
    length = ntohl(length);
    if (prefix[0] != 0) {
      finish(kInternal, "compressed messages are not supported");
      return;
    }
    if (length > kMaxMessageBytes) {
      finish(kInternal, "response message of " + std::to_string(length) + " bytes is too large");
      return;
    }
    if (pending_.length() < 5 + static_cast<size_t>(length)) break;
    pending_.drain(5);
    std::string bytes(length, '\0');
    pending_.copyOut(0, length, bytes.data());
    pending_.drain(length);
    callbacks_.onMessage(bytes);
  }
  if (end_stream && !finished_) finish(kInternal, "stream ended without grpc-status");
}

void GrpcStream::decodeTrailers(std::unique_ptr<http::HeaderMap> trailers) {
  onStatusHeaders(*trailers);
  if (!finished_) finish(kInternal, "trailers without grpc-status");
}

void GrpcStream::onResetStream(http::StreamResetReason, std::string_view details) {
  in_reset_ = true;
  finish(kUnavailable, "stream reset: " + std::string(details.empty() ? "by peer" : details));
}

void GrpcStream::finish(int status, const std::string& message) {
  if (finished_) return;
  finished_ = true;
  // Called from one of the stream's decode callbacks, the stream is alive and may outlive
  // this object (our request side is still open): stop listening to it. From a reset, the
  // codec is about to release it anyway.
  if (encoder_ != nullptr && !in_reset_) encoder_->stream().removeCallbacks(*this);
  encoder_ = nullptr;
  // Report from a fresh loop turn: the codec may be on the stack.
  dispatcher_.post([this, alive = std::weak_ptr<bool>(alive_), status, message] {
    if (alive.expired()) return;
    // Deleting the client closes its connection without calling back into the codec.
    if (client_) dispatcher_.deferredDelete(std::move(client_));
    callbacks_.onStreamClosed(status, message);
  });
}

}  // namespace remora::config
