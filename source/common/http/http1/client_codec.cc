#include "source/common/http/http1/client_codec.h"

#include "source/common/http/stream_callback_list.h"

namespace remora::http::http1 {

class ClientConnectionImpl::ActiveRequest : public RequestEncoder,
                                            public Stream,
                                            public event::DeferredDeletable {
 public:
  ActiveRequest(ClientConnectionImpl& parent, StreamDecoder& decoder)
      : decoder(decoder), parent_(parent) {}

  void encodeHeaders(const HeaderMap& headers, bool end_stream) override {
    head = headers.method() == "HEAD";
    std::string_view m = headers.method();
    idempotent =
        m == "GET" || m == "HEAD" || m == "OPTIONS" || m == "TRACE" || m == "PUT" || m == "DELETE";
    connect = m == "CONNECT";
    tunnel = connect || !upgradeProtocol(headers).empty();
    std::string& out = headScratch();
    out += headers.method();
    out += " ";
    // CONNECT names host:port (authority form, RFC 9112 3.2.3).
    out += connect ? headers.authority() : headers.path().empty() ? "/" : headers.path();
    out += " HTTP/1.1\r\nhost: ";
    out += headers.authority();
    out += "\r\n";
    writeHeaders(headers, out);
    if (headers.has("content-length") || tunnel) {
      // Framed by the caller's length, or raw once a tunnel opens.
    } else if (end_stream) {
      std::string_view method = headers.method();
      if (method == "POST" || method == "PUT" || method == "PATCH") out += "content-length: 0\r\n";
    } else {
      out += "transfer-encoding: chunked\r\n";
      chunked_ = true;
    }
    out += "\r\n";
    parent_.write(out);
    if (end_stream) request_complete = true;
  }
  void encodeData(buffer::Instance& data, bool end_stream) override {
    if (end_stream) request_complete = true;
    if (tunnel && !parent_.upgraded_) {
      // Tunnel bytes go out only after the upstream agreed (openTunnel()); a declined tunnel
      // drops them, as they were never part of the request.
      if (!declined) held.move(data);
      data.drain(data.length());
      return;
    }
    buffer::OwnedBuffer& out = parent_.write_scratch_;
    if (chunked_) {
      writeChunk(data, out);
      if (end_stream) out.add("0\r\n\r\n");
    } else {
      out.move(data);
    }
    if (out.length() > 0) parent_.connection_.write(out, false);
  }
  void encodeTrailers(const HeaderMap& trailers) override {
    request_complete = true;
    if (!chunked_) return;
    std::string& out = headScratch();
    out += "0\r\n";
    writeHeaders(trailers, out);
    out += "\r\n";
    parent_.write(out);
  }
  Stream& stream() override { return *this; }

  void addCallbacks(StreamCallbacks& callbacks) override { callbacks_.add(callbacks); }
  void removeCallbacks(StreamCallbacks& callbacks) override { callbacks_.remove(callbacks); }
  void resetStream(StreamResetReason reason) override {
    // HTTP/1.1 has no stream reset: the connection goes.
    parent_.broken_ = true;
    parent_.connection_.close(network::ConnectionCloseType::kNoFlush);
    notifyReset(reason, "http1.reset");
  }
  void readDisable(bool disable) override { parent_.connection_.readDisable(disable); }

  void notifyReset(StreamResetReason reason, std::string_view details) {
    callbacks_.notifyReset(reason, details);
  }
  void notifyWatermark(bool above) { callbacks_.notifyWatermark(above); }

  // Sends what was held for the tunnel that just opened.
  void openTunnel() {
    if (held.length() > 0) parent_.connection_.write(held, false);
  }

  bool head = false;
  bool idempotent = false;
  bool connect = false;
  // The request asks for an Upgrade or is a CONNECT.
  bool tunnel = false;
  bool declined = false;
  buffer::OwnedBuffer held;
  bool request_complete = false;
  bool response_bytes = false;
  StreamDecoder& decoder;

 private:
  ClientConnectionImpl& parent_;
  bool chunked_ = false;
  StreamCallbackList callbacks_;
};

namespace {
template <auto Method>
int dataCallback(http_parser* parser, const char* at, size_t length) {
  return (static_cast<ClientConnectionImpl*>(parser->data)->*Method)(at, length);
}
template <auto Method>
int eventCallback(http_parser* parser) {
  return (static_cast<ClientConnectionImpl*>(parser->data)->*Method)();
}
}  // namespace

ClientConnectionImpl::ClientConnectionImpl(network::Connection& connection,
                                           ClientConnectionCallbacks& callbacks,
                                           const Http1Settings& settings)
    : connection_(connection), callbacks_(callbacks), settings_(settings) {
  http_parser_init(&parser_, HTTP_RESPONSE);
  parser_.data = this;
  http_parser_settings_init(&parser_settings_);
  parser_settings_.on_message_begin = eventCallback<&ClientConnectionImpl::onMessageBegin>;
  parser_settings_.on_header_field = dataCallback<&ClientConnectionImpl::onHeaderField>;
  parser_settings_.on_header_value = dataCallback<&ClientConnectionImpl::onHeaderValue>;
  parser_settings_.on_headers_complete = eventCallback<&ClientConnectionImpl::onHeadersComplete>;
  parser_settings_.on_body = dataCallback<&ClientConnectionImpl::onBody>;
  parser_settings_.on_message_complete = eventCallback<&ClientConnectionImpl::onMessageComplete>;
}

ClientConnectionImpl::~ClientConnectionImpl() = default;

RequestEncoder& ClientConnectionImpl::newStream(StreamDecoder& response_decoder) {
  active_ = std::make_unique<ActiveRequest>(*this, response_decoder);
  return *active_;
}

std::optional<CodecError> ClientConnectionImpl::dispatch(buffer::Instance& data) {
  if (upgraded_) {
    if (active_) active_->decoder.decodeData(data, false);
    data.drain(data.length());
    return std::nullopt;
  }
  if (!active_ && data.length() > 0) {
    data.drain(data.length());
    return fail("http1.unexpected_response");
  }
  if (active_ && data.length() > 0) active_->response_bytes = true;
  // Parsed straight from the buffer's chunks, without copying them first.
  input_.move(data);
  while (input_.length() > 0) {
    std::string_view slice = input_.frontSlice();
    size_t parsed = http_parser_execute(&parser_, &parser_settings_, slice.data(), slice.size());
    input_.drain(parsed);
    if (pending_error_) {
      input_.drain(input_.length());
      return fail(*pending_error_);
    }
    auto err = HTTP_PARSER_ERRNO(&parser_);
    if (err != HPE_OK) {
      input_.drain(input_.length());
      return fail(std::string("http1.") + http_errno_name(err));
    }
    if (upgraded_) {
      // What follows the 101 response belongs to the upgraded protocol.
      if (active_ && input_.length() > 0) active_->decoder.decodeData(input_, false);
      input_.drain(input_.length());
      return std::nullopt;
    }
    if (parsed == 0) break;  // cannot happen without an error; never spin
  }
  return std::nullopt;
}

std::optional<CodecError> ClientConnectionImpl::dispatchEndOfStream() {
  if (upgraded_) {
    if (active_) {
      buffer::OwnedBuffer empty;
      active_->decoder.decodeData(empty, true);
      active_.reset();
    }
    return std::nullopt;
  }
  broken_ = true;
  if (!active_) return std::nullopt;
  // EOF ends a close-delimited body (on_message_complete) or cuts a response short.
  http_parser_execute(&parser_, &parser_settings_, nullptr, 0);
  if (active_) {
    auto request = std::move(active_);
    // A kept-alive connection the server closed before answering a byte (it was closing an
    // idle connection, e.g. while draining, as the request went out): an idempotent request
    // may be sent again (RFC 9112 section 9.3.1), so it is reported as refused.
    if (responses_completed_ > 0 && !request->response_bytes && request->idempotent) {
      request->notifyReset(StreamResetReason::kRefusedStream, "http1.reused_connection_closed");
    } else {
      request->notifyReset(StreamResetReason::kConnectionTermination, "http1.premature_close");
    }
    connection_.dispatcher().deferredDelete(std::move(request));
  }
  return std::nullopt;
}

std::optional<CodecError> ClientConnectionImpl::fail(std::string details) {
  broken_ = true;
  if (active_) {
    auto request = std::move(active_);
    request->notifyReset(StreamResetReason::kProtocolError, details);
    connection_.dispatcher().deferredDelete(std::move(request));
  }
  return CodecError{0, std::move(details)};
}

int ClientConnectionImpl::onMessageBegin() {
  field_.clear();
  value_.clear();
  reading_value_ = false;
  in_trailers_ = false;
  headers_ = std::make_unique<HeaderMap>();
  trailers_.reset();
  return 0;
}

bool ClientConnectionImpl::finishHeader() {
  if (!reading_value_) return true;
  reading_value_ = false;
  lowercaseAscii(field_);
  const std::string& name = field_;
  while (!value_.empty() && (value_.back() == ' ' || value_.back() == '\t')) value_.pop_back();
  if (!validHeaderName(name) || !validHeaderValue(value_)) {
    pending_error_ = "http1.invalid_response_header";
    return false;
  }
  if (in_trailers_) {
    if (!trailers_) trailers_ = std::make_unique<HeaderMap>();
    trailers_->add(name, value_);
  } else {
    headers_->add(name, value_);
  }
  field_.clear();
  value_.clear();
  return true;
}

int ClientConnectionImpl::onHeaderField(const char* at, size_t length) {
  if (reading_value_ && !finishHeader()) return 1;
  field_.append(at, length);
  return 0;
}

int ClientConnectionImpl::onHeaderValue(const char* at, size_t length) {
  reading_value_ = true;
  value_.append(at, length);
  return 0;
}

int ClientConnectionImpl::onHeadersComplete() {
  if (!finishHeader()) return -1;
  in_trailers_ = true;
  if (auto error = checkFraming(*headers_)) {
    pending_error_ = error->details;
    return -1;
  }
  if (!active_) return -1;
  uint32_t status = parser_.status_code;
  auto headers = std::move(headers_);
  char status_text[4] = {static_cast<char>('0' + status / 100 % 10),
                         static_cast<char>('0' + status / 10 % 10),
                         static_cast<char>('0' + status % 10), 0};
  headers->add(":status", std::string_view(status_text, 3));
  if (auto connection = headers->get("connection")) {
    if (hasToken(*connection, "close")) {
      going_away_ = true;
      callbacks_.onGoAway();
    }
  }
  if (status >= 100 && status < 200 && status != 101) {
    active_->decoder.decodeInformationalHeaders(std::move(headers));
    return 0;
  }
  const bool opens_tunnel =
      active_->tunnel && (active_->connect ? status >= 200 && status < 300 : status == 101);
  if (status == 101 && !opens_tunnel) {
    pending_error_ = "http1.unexpected_101";
    return -1;
  }
  if (opens_tunnel) {
    upgraded_ = true;
    active_->decoder.decodeHeaders(std::move(headers), false);
    if (active_) active_->openTunnel();
    return 2;  // no body: what follows the head is the tunnel's (http-parser stops here)
  }
  if (active_->tunnel) {
    active_->declined = true;
    active_->held.drain(active_->held.length());
  }
  bool no_body = active_->head || status == 204 || status == 304 ||
                 (!(parser_.flags & F_CHUNKED) && parser_.content_length == 0);
  active_->decoder.decodeHeaders(std::move(headers), no_body);
  if (no_body) {
    active_.reset();
    return 1;  // no body follows
  }
  return 0;
}

int ClientConnectionImpl::onBody(const char* at, size_t length) {
  if (!active_) return 0;
  body_scratch_.add(at, length);
  active_->decoder.decodeData(body_scratch_, false);
  body_scratch_.drain(body_scratch_.length());
  return 0;
}

int ClientConnectionImpl::onMessageComplete() {
  if (!finishHeader()) return 1;
  if (upgraded_ || !active_) return 0;
  if (parser_.status_code >= 100 && parser_.status_code < 200) return 0;
  ++responses_completed_;
  auto request = std::move(active_);
  // The response is delivered in full before the connection may be closed under it.
  if (trailers_ && !trailers_->empty()) {
    request->decoder.decodeTrailers(std::move(trailers_));
  } else {
    body_scratch_.drain(body_scratch_.length());
    request->decoder.decodeData(body_scratch_, true);
  }
  finishRequest(*request);
  connection_.dispatcher().deferredDelete(std::move(request));
  return 0;
}

void ClientConnectionImpl::finishRequest(ActiveRequest& request) {
  if (!request.request_complete) {
    // Answered before the request body was all sent: the connection cannot carry another
    // request, so it ends once this response is delivered.
    broken_ = true;
    connection_.close(network::ConnectionCloseType::kFlushWrite);
  }
}

void ClientConnectionImpl::onUnderlyingConnectionAboveWriteBufferHighWatermark() {
  if (active_) active_->notifyWatermark(true);
}

void ClientConnectionImpl::onUnderlyingConnectionBelowWriteBufferLowWatermark() {
  if (active_) active_->notifyWatermark(false);
}

}  // namespace remora::http::http1
