#pragma once

// HTTP codecs turn a connection's bytes into streams of headers, body and trailers, and back.
// One codec object per connection, on that connection's worker thread; HTTP/1.1 (one stream
// at a time, pipelined requests answered in order) and HTTP/2 (many streams) look the same
// to the connection manager and the router.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "source/interface/buffer/buffer.h"
#include "source/interface/http/header_map.h"

namespace remora::http {

enum class Protocol { kHttp10, kHttp11, kHttp2 };

enum class StreamResetReason {
  kLocalReset,             // we reset it (timeout, filter decision, downstream went away)
  kRemoteReset,            // the peer reset it (RST_STREAM, or closed mid-message)
  kRefusedStream,          // the peer refused it before processing (HTTP/2 REFUSED_STREAM)
  kConnectionFailure,      // the connection could not be made
  kConnectionTermination,  // the connection closed under the stream
  kProtocolError,          // the peer broke the protocol
  kOverflow,               // a local limit was hit
  // We answered in full before the request ended and want no more of it (HTTP/2: RST_STREAM
  // NO_ERROR, RFC 9113 8.1, so the client keeps the response).
  kResponseComplete,
};

// Receives what the codec decoded for one stream, in order: headers, then zero or more data
// chunks, then optionally trailers. Exactly one call carries end_stream (trailers end it).
class StreamDecoder {
 public:
  virtual ~StreamDecoder() = default;
  // 1xx responses (100 Continue) arrive here on the client side, before decodeHeaders.
  virtual void decodeInformationalHeaders(std::unique_ptr<HeaderMap> headers) { (void)headers; }
  virtual void decodeHeaders(std::unique_ptr<HeaderMap> headers, bool end_stream) = 0;
  // `data` may be drained by the callee; what is left is discarded.
  virtual void decodeData(buffer::Instance& data, bool end_stream) = 0;
  virtual void decodeTrailers(std::unique_ptr<HeaderMap> trailers) = 0;
};

class StreamCallbacks {
 public:
  virtual ~StreamCallbacks() = default;
  // The stream ended abnormally; no more decoder or encoder calls will happen for it.
  virtual void onResetStream(StreamResetReason reason, std::string_view details) = 0;
  // The stream's send side has more buffered than its limit: pause the producer.
  virtual void onAboveWriteBufferHighWatermark() {}
  virtual void onBelowWriteBufferLowWatermark() {}
};

class Stream {
 public:
  virtual ~Stream() = default;
  // Callbacks must stay valid until removed or the stream is reset/complete.
  virtual void addCallbacks(StreamCallbacks& callbacks) = 0;
  virtual void removeCallbacks(StreamCallbacks& callbacks) = 0;
  // Abandons the stream (HTTP/2 RST_STREAM; HTTP/1.1 closes the connection). Callbacks
  // (including the caller's) hear onResetStream.
  virtual void resetStream(StreamResetReason reason) = 0;
  // Nestable: stop (or resume) taking body bytes for this stream from the peer; HTTP/2 stops
  // returning flow-control window, HTTP/1.1 stops reading the connection.
  virtual void readDisable(bool disable) = 0;
};

// Sends one stream's headers, body and trailers. Exactly one call carries end_stream.
class StreamEncoder {
 public:
  virtual ~StreamEncoder() = default;
  virtual void encodeHeaders(const HeaderMap& headers, bool end_stream) = 0;
  // Drains `data`.
  virtual void encodeData(buffer::Instance& data, bool end_stream) = 0;
  virtual void encodeTrailers(const HeaderMap& trailers) = 0;
  virtual Stream& stream() = 0;
};

class ResponseEncoder : public StreamEncoder {
 public:
  // Sends a 1xx response (100 Continue) before the final headers.
  virtual void encodeInformationalHeaders(const HeaderMap& headers) = 0;
};

class RequestEncoder : public StreamEncoder {};

// Why dispatch() failed: the peer sent something the codec will not accept.
struct CodecError {
  // The status the server side should answer with (400, 413, 431, ...); 0 when no response
  // can be sent (HTTP/2 errors are answered by GOAWAY or RST_STREAM inside the codec).
  int http_status = 400;
  std::string details;  // for logs and the access log, e.g. "http1.invalid_header_name"
};

class Connection {
 public:
  virtual ~Connection() = default;
  // Feeds bytes read from the socket (drains what it consumed). On error, the caller sends the
  // error response if any is due and closes the connection; the codec must not be used again.
  virtual std::optional<CodecError> dispatch(buffer::Instance& data) = 0;
  // The peer finished sending (TCP FIN). HTTP/1.1 ends a body delimited by the close there;
  // a message cut short is an error.
  virtual std::optional<CodecError> dispatchEndOfStream() = 0;
  virtual Protocol protocol() const = 0;
  // Graceful shutdown: HTTP/2 sends GOAWAY; HTTP/1.1 answers the current request with
  // `Connection: close` and takes no more.
  virtual void goAway() = 0;
  // The first half of a graceful HTTP/2 shutdown (RFC 9113 6.8): a GOAWAY naming the highest
  // possible stream id, so the peer stops opening streams without any in flight being refused;
  // goAway() a round trip later names the real last stream. HTTP/1.1: nothing to do.
  virtual void shutdownNotice() {}
  // The socket's write buffer crossed its watermarks: pause or resume every stream's sender.
  virtual void onUnderlyingConnectionAboveWriteBufferHighWatermark() = 0;
  virtual void onUnderlyingConnectionBelowWriteBufferLowWatermark() = 0;
};

// Called by a server codec when a request starts.
class ServerConnectionCallbacks {
 public:
  virtual ~ServerConnectionCallbacks() = default;
  // Returns the decoder for the new request. `encoder` stays valid until the response is
  // complete or the stream is reset.
  virtual StreamDecoder& newStream(ResponseEncoder& encoder) = 0;
};

class ServerConnection : public virtual Connection {};

// Called by a client codec about the connection as a whole.
class ClientConnectionCallbacks {
 public:
  virtual ~ClientConnectionCallbacks() = default;
  // The server will take no more streams (HTTP/2 GOAWAY, HTTP/1.1 `Connection: close`).
  virtual void onGoAway() {}
};

class ClientConnection : public virtual Connection {
 public:
  // Starts a request; responses go to `response_decoder`, which must stay valid until the
  // response is complete or the stream is reset.
  virtual RequestEncoder& newStream(StreamDecoder& response_decoder) = 0;
  // Streams open now, and whether one more may be started.
  virtual uint32_t activeStreams() const = 0;
  virtual bool canStartStream() const = 0;
};

}  // namespace remora::http
