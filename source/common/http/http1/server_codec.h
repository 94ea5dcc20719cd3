#pragma once

// HTTP/1.1 server codec on http-parser: strict request parsing, streaming bodies, pipelined
// requests answered in order (parsing pauses while a response is in progress), 100-continue,
// tunnels (an allowed Upgrade, or CONNECT) that open only once the response agrees.
//
// A tunnel request (an Upgrade to one of Http1Settings::upgrade_protocols, without a body, or a
// CONNECT) is decoded with end_stream false; the bytes that follow it are held, neither parsed
// nor passed on, until its response is encoded. A 101 (2xx for CONNECT) opens the tunnel: the
// held bytes and all later ones go to the request's decoder raw. Any other response declines
// it: the request ends there (an empty decodeData with end_stream) and the held bytes are parsed
// as the next request once the response is complete, as for any pipelined request. An Upgrade
// the settings do not allow, or one on a request with a body, is ignored (RFC 9110 7.8): its
// Upgrade header is removed and the request is served as plain HTTP/1.1.

#include <http_parser.h>

#include <list>
#include <memory>
#include <string>

#include "source/common/buffer/owned_buffer.h"
#include "source/common/http/http1/http1_util.h"
#include "source/interface/event/dispatcher.h"
#include "source/interface/http/codec.h"
#include "source/interface/network/connection.h"

namespace remora::http::http1 {

class ServerConnectionImpl : public ServerConnection {
 public:
  ServerConnectionImpl(network::Connection& connection, ServerConnectionCallbacks& callbacks,
                       const Http1Settings& settings);
  ~ServerConnectionImpl() override;

  std::optional<CodecError> dispatch(buffer::Instance& data) override;
  std::optional<CodecError> dispatchEndOfStream() override;
  Protocol protocol() const override { return protocol_; }
  void goAway() override { going_away_ = true; }
  void onUnderlyingConnectionAboveWriteBufferHighWatermark() override;
  void onUnderlyingConnectionBelowWriteBufferLowWatermark() override;

 private:
  class ActiveRequest;
  friend class ActiveRequest;

  // http-parser callbacks.
  int onMessageBegin();
  int onUrl(const char* at, size_t length);
  int onHeaderField(const char* at, size_t length);
  int onHeaderValue(const char* at, size_t length);
  int onHeadersComplete();
  int onBody(const char* at, size_t length);
  int onMessageComplete();

  bool finishHeader();
  // Parses held_input_ from the front until it is used up, the parser pauses at the end of a
  // request (the rest stays held), or the input is bad.
  std::optional<CodecError> parseHeldInput();
  void onResponseComplete(bool close_connection);
  // The response to a tunnel request was encoded: `open` switches the connection to raw bytes,
  // otherwise the request ends and what the client sent after it is parsed as HTTP again.
  void onTunnelDecided(bool open);
  // Runs resumeParsing() on the next loop turn (a response's writer is on the stack now).
  void scheduleResume();
  void resumeParsing();
  void releaseActive();
  void limitHeldInput();

  // Writes a serialized head (or chunk trailer) to the connection.
  void write(std::string_view bytes) {
    write_scratch_.add(bytes);
    connection_.write(write_scratch_, false);
  }

  network::Connection& connection_;
  // Reused for every write so none allocates a buffer; the connection drains it each time.
  buffer::OwnedBuffer write_scratch_;
  ServerConnectionCallbacks& callbacks_;
  Http1Settings settings_;
  http_parser parser_;
  http_parser_settings parser_settings_;
  Protocol protocol_ = Protocol::kHttp11;

  // The request being parsed.
  std::string url_;
  std::string field_;
  std::string value_;
  bool reading_value_ = false;
  std::unique_ptr<HeaderMap> headers_;
  std::unique_ptr<HeaderMap> trailers_;
  size_t header_bytes_ = 0;
  bool in_trailers_ = false;
  char last_byte_before_chunk_ = '\n';  // for obs-fold detection across dispatch() calls
  const char* chunk_start_ = nullptr;

  std::unique_ptr<ActiveRequest> active_;
  std::optional<CodecError> pending_error_;
  // Bytes read and not parsed yet: parsing pauses after each complete request until its
  // response is done (pipelining).
  buffer::OwnedBuffer held_input_;
  // Body pieces handed to the request's decoder.
  buffer::OwnedBuffer body_scratch_;
  bool paused_ = false;
  bool read_disabled_for_pipelining_ = false;
  // The connection carries raw bytes of an open tunnel.
  bool upgraded_ = false;
  bool going_away_ = false;
  bool closed_ = false;
  event::TimerPtr resume_timer_;
};

}  // namespace remora::http::http1
