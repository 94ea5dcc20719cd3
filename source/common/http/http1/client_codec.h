#pragma once

// HTTP/1.1 client codec on http-parser: one request at a time per connection, streaming
// response bodies (length, chunked or close-delimited), 1xx, HEAD, and tunnels: after a request
// that asks for an Upgrade (or a CONNECT), only a 101 (2xx for CONNECT) switches the connection
// to raw bytes both ways; bytes the caller sends before that are held, and dropped if the
// upstream declines. A 101 to any other request is a protocol error.

#include <http_parser.h>

#include <memory>
#include <string>
#include <vector>

#include "source/common/buffer/owned_buffer.h"
#include "source/common/http/http1/http1_util.h"
#include "source/interface/http/codec.h"
#include "source/interface/network/connection.h"

namespace remora::http::http1 {

class ClientConnectionImpl : public ClientConnection {
 public:
  ClientConnectionImpl(network::Connection& connection, ClientConnectionCallbacks& callbacks,
                       const Http1Settings& settings);
  ~ClientConnectionImpl() override;

  std::optional<CodecError> dispatch(buffer::Instance& data) override;
  std::optional<CodecError> dispatchEndOfStream() override;
  Protocol protocol() const override { return Protocol::kHttp11; }
  void goAway() override { going_away_ = true; }
  void onUnderlyingConnectionAboveWriteBufferHighWatermark() override;
  void onUnderlyingConnectionBelowWriteBufferLowWatermark() override;
  RequestEncoder& newStream(StreamDecoder& response_decoder) override;
  uint32_t activeStreams() const override { return active_ ? 1 : 0; }
  bool canStartStream() const override { return !active_ && !going_away_ && !broken_; }

 private:
  class ActiveRequest;
  friend class ActiveRequest;

  int onMessageBegin();
  int onHeaderField(const char* at, size_t length);
  int onHeaderValue(const char* at, size_t length);
  int onHeadersComplete();
  int onBody(const char* at, size_t length);
  int onMessageComplete();
  bool finishHeader();
  std::optional<CodecError> fail(std::string details);
  void finishRequest(ActiveRequest& request);

  // Writes a serialized head (or chunk trailer) to the connection.
  void write(std::string_view bytes) {
    write_scratch_.add(bytes);
    connection_.write(write_scratch_, false);
  }

  network::Connection& connection_;
  // Reused for every write so none allocates a buffer; the connection drains it each time.
  buffer::OwnedBuffer write_scratch_;
  // Response bytes being parsed, and body pieces handed to the decoder.
  buffer::OwnedBuffer input_;
  buffer::OwnedBuffer body_scratch_;
  ClientConnectionCallbacks& callbacks_;
  Http1Settings settings_;
  http_parser parser_;
  http_parser_settings parser_settings_;
  std::string field_;
  std::string value_;
  bool reading_value_ = false;
  bool in_trailers_ = false;
  std::unique_ptr<HeaderMap> headers_;
  std::unique_ptr<HeaderMap> trailers_;
  std::unique_ptr<ActiveRequest> active_;
  std::optional<std::string> pending_error_;
  bool going_away_ = false;
  uint64_t responses_completed_ = 0;
  bool broken_ = false;
  bool upgraded_ = false;
};

}  // namespace remora::http::http1
