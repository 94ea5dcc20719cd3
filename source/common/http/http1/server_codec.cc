#include "source/common/http/http1/server_codec.h"

#include "source/common/http/stream_callback_list.h"

#include <algorithm>
#include <cstring>
#include <vector>

namespace remora::http::http1 {
namespace {
// Pipelined request bytes held while an earlier response is in progress, before reading stops.
constexpr size_t kMaxHeldInput = 64 * 1024;
}  // namespace

// One request's stream: the response encoder, reset and flow control.
class ServerConnectionImpl::ActiveRequest : public ResponseEncoder,
                                            public Stream,
                                            public event::DeferredDeletable {
 public:
  ActiveRequest(ServerConnectionImpl& parent, bool head, bool keep_alive, bool http10)
      : parent_(parent), head_(head), keep_alive_(keep_alive), http10_(http10) {}

  StreamDecoder* decoder = nullptr;
  bool request_complete = false;
  bool response_complete = false;
  // A tunnel request (see the header): whether it is CONNECT, whether its message has been
  // parsed, and whether its response decided yet.
  bool tunnel = false;
  bool connect = false;
  bool message_parsed = false;
  bool tunnel_decided = false;

  // StreamEncoder
  void encodeInformationalHeaders(const HeaderMap& headers) override {
    std::string& out = headScratch();
    out += "HTTP/1.1 ";
    out += std::to_string(headers.status());
    out += " ";
    out += reasonPhrase(headers.status());
    out += "\r\n";
    writeHeaders(headers, out);
    out += "\r\n";
    parent_.write(out);
  }

  void encodeHeaders(const HeaderMap& headers, bool end_stream) override {
    uint32_t status = headers.status();
    close_after_ = !keep_alive_ || parent_.going_away_;
    std::string& out = headScratch();
    out += http10_ ? "HTTP/1.0 " : "HTTP/1.1 ";
    out += std::to_string(status);
    out += " ";
    out += reasonPhrase(status);
    out += "\r\n";
    writeHeaders(headers, out);
    bool no_body = status < 200 || status == 204 || status == 304;
    bool open_tunnel = false;
    if (tunnel && !tunnel_decided && (status >= 200 || status == 101)) {
      tunnel_decided = true;
      open_tunnel = connect ? status >= 200 && status < 300 : status == 101;
      // Declined: the request ends before anything of the response is written, so the stream
      // sees a complete exchange and the connection stays usable (keep-alive).
      if (!open_tunnel) parent_.onTunnelDecided(false);
    }
    if (open_tunnel) {
      raw_ = true;  // no framing: what follows the head is the tunnel's bytes
    } else if (no_body || head_) {
      // The headers say what a GET would have carried; nothing follows.
    } else if (headers.has("content-length")) {
      // Framed by the length given.
    } else if (end_stream) {
      out += "content-length: 0\r\n";
    } else if (!http10_) {
      out += "transfer-encoding: chunked\r\n";
      chunked_ = true;
    } else {
      close_after_ = true;  // HTTP/1.0: the body ends with the connection
    }
    if (close_after_ && !raw_) {
      out += "connection: close\r\n";
    } else if (http10_ && !raw_) {
      out += "connection: keep-alive\r\n";
    }
    out += "\r\n";
    parent_.write(out);
    if (open_tunnel) parent_.onTunnelDecided(true);
    if (end_stream) complete();
  }

  void encodeData(buffer::Instance& data, bool end_stream) override {
    buffer::OwnedBuffer& out = parent_.write_scratch_;
    if (chunked_ && !head_) {
      writeChunk(data, out);
      if (end_stream) out.add("0\r\n\r\n");
    } else if (head_) {
      data.drain(data.length());
    } else {
      out.move(data);
    }
    if (out.length() > 0) parent_.connection_.write(out, false);
    if (end_stream) complete();
  }

  void encodeTrailers(const HeaderMap& trailers) override {
    if (chunked_ && !head_) {
      std::string& out = headScratch();
      out += "0\r\n";
      writeHeaders(trailers, out);
      out += "\r\n";
      parent_.write(out);
    }
    complete();
  }

  Stream& stream() override { return *this; }

  // Stream
  void addCallbacks(StreamCallbacks& callbacks) override { callbacks_.add(callbacks); }
  void removeCallbacks(StreamCallbacks& callbacks) override { callbacks_.remove(callbacks); }
  void resetStream(StreamResetReason reason) override {
    if (callbacks_.reset()) return;
    parent_.closed_ = true;
    parent_.connection_.close(network::ConnectionCloseType::kNoFlush);
    notifyReset(reason, "http1.reset");
  }
  void readDisable(bool disable) override { parent_.connection_.readDisable(disable); }

  void notifyReset(StreamResetReason reason, std::string_view details) {
    callbacks_.notifyReset(reason, details);
  }
  void notifyWatermark(bool above) { callbacks_.notifyWatermark(above); }
  bool raw() const { return raw_; }

 private:
  void complete() {
    if (response_complete) return;
    response_complete = true;
    if (raw_) return;  // an upgraded stream ends with the connection
    parent_.onResponseComplete(close_after_);
  }

  ServerConnectionImpl& parent_;
  const bool head_;
  const bool keep_alive_;
  const bool http10_;
  bool chunked_ = false;
  bool raw_ = false;
  bool close_after_ = false;
  StreamCallbackList callbacks_;
};

namespace {
template <auto Method>
int dataCallback(http_parser* parser, const char* at, size_t length) {
  return (static_cast<ServerConnectionImpl*>(parser->data)->*Method)(at, length);
}
template <auto Method>
int eventCallback(http_parser* parser) {
  return (static_cast<ServerConnectionImpl*>(parser->data)->*Method)();
}
}  // namespace

ServerConnectionImpl::ServerConnectionImpl(network::Connection& connection,
                                           ServerConnectionCallbacks& callbacks,
                                           const Http1Settings& settings)
    : connection_(connection), callbacks_(callbacks), settings_(settings) {
  http_parser_init(&parser_, HTTP_REQUEST);
  parser_.data = this;
  http_parser_settings_init(&parser_settings_);
  parser_settings_.on_message_begin = eventCallback<&ServerConnectionImpl::onMessageBegin>;
  parser_settings_.on_url = dataCallback<&ServerConnectionImpl::onUrl>;
  parser_settings_.on_header_field = dataCallback<&ServerConnectionImpl::onHeaderField>;
  parser_settings_.on_header_value = dataCallback<&ServerConnectionImpl::onHeaderValue>;
  parser_settings_.on_headers_complete = eventCallback<&ServerConnectionImpl::onHeadersComplete>;
  parser_settings_.on_body = dataCallback<&ServerConnectionImpl::onBody>;
  parser_settings_.on_message_complete = eventCallback<&ServerConnectionImpl::onMessageComplete>;
  // Our own limit is enforced in the callbacks; the parser's must not be lower.
  http_parser_set_max_header_size(
      std::max<uint32_t>(settings_.max_request_headers_bytes * 2, 80 * 1024));
}

ServerConnectionImpl::~ServerConnectionImpl() = default;

std::optional<CodecError> ServerConnectionImpl::dispatch(buffer::Instance& data) {
  if (closed_) {
    data.drain(data.length());
    return std::nullopt;
  }
  if (upgraded_ && held_input_.length() == 0) {
    if (active_ && active_->decoder) active_->decoder->decodeData(data, false);
    data.drain(data.length());
    return std::nullopt;
  }
  held_input_.move(data);
  if (upgraded_) return std::nullopt;  // after the held bytes, which resumeParsing() passes on
  if (paused_) {
    limitHeldInput();
    return std::nullopt;
  }
  return parseHeldInput();
}

std::optional<CodecError> ServerConnectionImpl::parseHeldInput() {
  // Straight from the buffer's chunks: no copy of the bytes before parsing.
  while (held_input_.length() > 0 && !closed_) {
    std::string_view slice = held_input_.frontSlice();
    chunk_start_ = slice.data();
    size_t parsed = http_parser_execute(&parser_, &parser_settings_, slice.data(), slice.size());
    last_byte_before_chunk_ = slice[std::max<size_t>(parsed, 1) - 1];
    held_input_.drain(parsed);
    if (pending_error_) {
      auto error = std::move(pending_error_);
      pending_error_.reset();
      closed_ = true;
      held_input_.drain(held_input_.length());
      return error;
    }
    auto err = HTTP_PARSER_ERRNO(&parser_);
    if (err == HPE_PAUSED) {
      // A complete request waits for its response: keep the rest for later.
      http_parser_pause(&parser_, 0);
      limitHeldInput();
      return std::nullopt;
    }
    if (err != HPE_OK) {
      closed_ = true;
      held_input_.drain(held_input_.length());
      if (err == HPE_HEADER_OVERFLOW) return CodecError{431, "http1.headers_too_large"};
      if (err == HPE_INVALID_VERSION) return CodecError{505, "http1.invalid_version"};
      if (err == HPE_UNEXPECTED_CONTENT_LENGTH) {
        return CodecError{400, "http1.both_content_length_and_transfer_encoding"};
      }
      return CodecError{400, std::string("http1.") + http_errno_name(err)};
    }
    // http-parser also stops (without an error) after an Upgrade or CONNECT request; a tunnel
    // request paused above, so anything else simply goes on with the next request.
    if (parsed == 0) break;  // cannot happen without an error; never spin
  }
  return std::nullopt;
}

std::optional<CodecError> ServerConnectionImpl::dispatchEndOfStream() {
  if (closed_) return std::nullopt;
  if (upgraded_) {
    if (active_ && active_->decoder) active_->decoder->decodeData(held_input_, true);
    held_input_.drain(held_input_.length());
    return std::nullopt;
  }
  if (active_ && !active_->request_complete && !(active_->tunnel && active_->message_parsed)) {
    closed_ = true;
    active_->notifyReset(StreamResetReason::kRemoteReset, "http1.truncated_request");
    return std::nullopt;
  }
  return std::nullopt;
}

int ServerConnectionImpl::onMessageBegin() {
  url_.clear();
  field_.clear();
  value_.clear();
  reading_value_ = false;
  headers_ = std::make_unique<HeaderMap>();
  trailers_.reset();
  header_bytes_ = 0;
  in_trailers_ = false;
  return 0;
}

int ServerConnectionImpl::onUrl(const char* at, size_t length) {
  url_.append(at, length);
  header_bytes_ += length;
  if (header_bytes_ > settings_.max_request_headers_bytes) {
    pending_error_ = CodecError{431, "http1.headers_too_large"};
    return 1;
  }
  return 0;
}

bool ServerConnectionImpl::finishHeader() {
  if (!reading_value_) return true;
  reading_value_ = false;
  lowercaseAscii(field_);
  const std::string& name = field_;
  while (!value_.empty() && (value_.back() == ' ' || value_.back() == '\t')) value_.pop_back();
  if (!validHeaderName(name)) {
    pending_error_ = CodecError{400, "http1.invalid_header_name"};
    return false;
  }
  if (!validHeaderValue(value_)) {
    pending_error_ = CodecError{400, "http1.invalid_header_value"};
    return false;
  }
  HeaderMap* target = headers_.get();
  if (in_trailers_) {
    if (!trailers_) trailers_ = std::make_unique<HeaderMap>();
    target = trailers_.get();
  }
  target->add(name, value_);
  if (!in_trailers_ && headers_->size() > settings_.max_headers_count) {
    pending_error_ = CodecError{431, "http1.too_many_headers"};
    return false;
  }
  field_.clear();
  value_.clear();
  return true;
}

int ServerConnectionImpl::onHeaderField(const char* at, size_t length) {
  if (reading_value_ && !finishHeader()) return 1;
  field_.append(at, length);
  header_bytes_ += length;
  if (header_bytes_ > settings_.max_request_headers_bytes) {
    pending_error_ = CodecError{431, "http1.headers_too_large"};
    return 1;
  }
  return 0;
}

int ServerConnectionImpl::onHeaderValue(const char* at, size_t length) {
  {
    // Value bytes that start right after a line break (and whitespace) continue the previous
    // line: obsolete line folding, refused (RFC 9112 5.2).
    const char* p = at;
    while (p > chunk_start_ && (p[-1] == ' ' || p[-1] == '\t')) --p;
    char before = p > chunk_start_ ? p[-1] : last_byte_before_chunk_;
    if (before == '\n') {
      pending_error_ = CodecError{400, "http1.obs_fold"};
      return 1;
    }
  }
  reading_value_ = true;
  value_.append(at, length);
  header_bytes_ += length;
  if (header_bytes_ > settings_.max_request_headers_bytes) {
    pending_error_ = CodecError{431, "http1.headers_too_large"};
    return 1;
  }
  return 0;
}

int ServerConnectionImpl::onHeadersComplete() {
  if (!finishHeader()) return -1;
  in_trailers_ = true;  // header lines after this point are trailers of a chunked body
  if (auto error = checkFraming(*headers_)) {
    pending_error_ = error;
    return -1;
  }
  protocol_ =
      parser_.http_major == 1 && parser_.http_minor == 0 ? Protocol::kHttp10 : Protocol::kHttp11;
  // The parsed map becomes the request's: pseudo-headers are appended (order among entries
  // only matters for same-named ones) and Host gives way to :authority.
  std::string_view method = http_method_str(static_cast<http_method>(parser_.method));
  std::string_view authority;
  std::string_view path = url_;
  std::string_view scheme = "http";
  const bool connect = parser_.method == HTTP_CONNECT;
  if (connect) {
    // Authority form (RFC 9112 3.2.3): the target is host:port, and there is no path.
    authority = url_;
    path = "";
    scheme = "";
  } else if (!url_.empty() && url_[0] != '/' && url_ != "*") {
    // Absolute form (explicit proxy): scheme://authority/path?query.
    http_parser_url u;
    http_parser_url_init(&u);
    if (!settings_.allow_absolute_url ||
        http_parser_parse_url(url_.data(), url_.size(), 0, &u) != 0 ||
        !(u.field_set & (1 << UF_HOST))) {
      pending_error_ = CodecError{400, "http1.invalid_url"};
      return -1;
    }
    std::string_view url = url_;
    scheme = url.substr(u.field_data[UF_SCHEMA].off, u.field_data[UF_SCHEMA].len);
    size_t host_start = u.field_data[UF_HOST].off;
    size_t host_end = (u.field_set & (1 << UF_PORT))
                          ? u.field_data[UF_PORT].off + u.field_data[UF_PORT].len
                          : host_start + u.field_data[UF_HOST].len;
    authority = url.substr(host_start, host_end - host_start);
    path = (u.field_set & (1 << UF_PATH)) ? url.substr(u.field_data[UF_PATH].off) : "/";
  } else if (auto host = headers_->get("host")) {
    authority = *host;
  }
  headers_->add(":method", method);
  if (!connect) headers_->add(":scheme", scheme);
  headers_->add(":authority", authority);  // may view the map itself; add() allows that
  if (!connect) headers_->add(":path", path);
  if (headers_->remove("host") > 1) {
    // RFC 9112 3.2: which of them would the upstream believe? Refused, as the RFC requires.
    pending_error_ = CodecError{400, "http1.multiple_host_headers"};
    return -1;
  }
  bool has_body = (parser_.flags & F_CHUNKED) ||
                  (parser_.content_length > 0 && parser_.content_length != ULLONG_MAX);
  bool tunnel = connect;
  if (parser_.upgrade && !connect) {
    std::string protocol = upgradeProtocol(*headers_);
    const auto& allowed = settings_.upgrade_protocols;
    tunnel = !has_body && std::find(allowed.begin(), allowed.end(), protocol) != allowed.end();
    // Not honoured: the request is plain HTTP/1.1 and must not look like an upgrade further on.
    if (!tunnel) headers_->remove("upgrade");
  }
  auto headers = std::move(headers_);
  bool keep_alive = http_should_keep_alive(&parser_) != 0;
  bool head = parser_.method == HTTP_HEAD;
  releaseActive();
  active_ =
      std::make_unique<ActiveRequest>(*this, head, keep_alive, protocol_ == Protocol::kHttp10);
  active_->tunnel = tunnel;
  active_->connect = connect;
  active_->decoder = &callbacks_.newStream(*active_);
  // A tunnel request stays open: if its tunnel opens, the raw bytes continue it.
  bool end_stream = !has_body && !tunnel;
  if (end_stream) active_->request_complete = true;
  active_->decoder->decodeHeaders(std::move(headers), end_stream);
  return 0;
}

int ServerConnectionImpl::onBody(const char* at, size_t length) {
  if (!active_ || !active_->decoder) return 0;
  body_scratch_.add(at, length);
  active_->decoder->decodeData(body_scratch_, false);
  body_scratch_.drain(body_scratch_.length());
  return 0;
}

int ServerConnectionImpl::onMessageComplete() {
  if (!finishHeader()) return 1;
  if (active_ && active_->tunnel) {
    active_->message_parsed = true;
    if (!active_->tunnel_decided) {
      // Nothing after a tunnel request is parsed or passed on before its response decides.
      paused_ = true;
      http_parser_pause(&parser_, 1);
      return 0;
    }
  }
  if (active_ && !active_->request_complete && !active_->tunnel) {
    active_->request_complete = true;
    if (trailers_ && !trailers_->empty()) {
      active_->decoder->decodeTrailers(std::move(trailers_));
    } else {
      body_scratch_.drain(body_scratch_.length());
      active_->decoder->decodeData(body_scratch_, true);
    }
  }
  if (upgraded_) return 0;  // the tunnel opened before http-parser got here (a local 101)
  // Pipelining: the next request waits until this one's response is complete.
  if (active_ && !active_->response_complete) {
    paused_ = true;
    http_parser_pause(&parser_, 1);
  } else {
    releaseActive();
  }
  return 0;
}

void ServerConnectionImpl::onResponseComplete(bool close_connection) {
  if (close_connection) {
    closed_ = true;
    connection_.close(network::ConnectionCloseType::kFlushWrite);
    return;
  }
  if (active_ && !active_->request_complete) return;  // body still coming; see resumeParsing
  if (!paused_) {
    releaseActive();
    return;
  }
  scheduleResume();
}

void ServerConnectionImpl::onTunnelDecided(bool open) {
  if (!active_) return;
  if (!open) {
    active_->request_complete = true;
    if (active_->decoder) {
      body_scratch_.drain(body_scratch_.length());
      active_->decoder->decodeData(body_scratch_, true);
    }
    return;  // the held bytes are parsed once the response is complete (onResponseComplete)
  }
  upgraded_ = true;
  // Whatever the client sent after the request was held; it now belongs to the tunnel.
  if (held_input_.length() > 0 || read_disabled_for_pipelining_) scheduleResume();
}

void ServerConnectionImpl::scheduleResume() {
  if (!resume_timer_) {
    resume_timer_ = connection_.dispatcher().createTimer([this] { resumeParsing(); });
  }
  resume_timer_->enable(std::chrono::milliseconds(0));
}

void ServerConnectionImpl::limitHeldInput() {
  // Reading stops only once pipelined bytes pile up: toggling it for every request would cost
  // two epoll_ctl calls per request.
  if (!read_disabled_for_pipelining_ && held_input_.length() > kMaxHeldInput) {
    read_disabled_for_pipelining_ = true;
    connection_.readDisable(true);
  }
}

void ServerConnectionImpl::releaseActive() {
  // The stream's users may be unwinding through it right now: delete it after this event.
  if (active_) connection_.dispatcher().deferredDelete(std::move(active_));
}

void ServerConnectionImpl::resumeParsing() {
  paused_ = false;
  if (read_disabled_for_pipelining_) {
    read_disabled_for_pipelining_ = false;
    connection_.readDisable(false);
  }
  if (upgraded_) {
    if (held_input_.length() > 0 && !closed_ && active_ && active_->decoder) {
      active_->decoder->decodeData(held_input_, false);
    }
    held_input_.drain(held_input_.length());
    return;
  }
  releaseActive();
  if (held_input_.length() == 0 || closed_) return;
  auto error = parseHeldInput();
  if (error) {
    // Reported as a raw response by the connection manager normally; here it is simplest
    // to close, as the error came from a pipelined request.
    connection_.close(network::ConnectionCloseType::kFlushWrite);
  }
}

void ServerConnectionImpl::onUnderlyingConnectionAboveWriteBufferHighWatermark() {
  if (active_) active_->notifyWatermark(true);
}

void ServerConnectionImpl::onUnderlyingConnectionBelowWriteBufferLowWatermark() {
  if (active_) active_->notifyWatermark(false);
}

}  // namespace remora::http::http1
