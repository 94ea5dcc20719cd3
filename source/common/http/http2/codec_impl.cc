#include "source/common/http/http2/codec_impl.h"

#include <algorithm>
#include <cstring>

#include "source/common/common/logger.h"
#include "source/common/http/stream_callback_list.h"

namespace remora::http::http2 {
namespace {

bool connectionSpecific(std::string_view name) {
  return name == "connection" || name == "keep-alive" || name == "proxy-connection" ||
         name == "transfer-encoding" || name == "upgrade" || name == "host";
}

// nghttp2 name/value pairs for a header map: pseudo-headers first, connection-specific headers
// dropped (RFC 9113 8.2.2). `host` becomes :authority on requests when that is missing.
std::vector<nghttp2_nv> toNv(const HeaderMap& headers) {
  std::vector<nghttp2_nv> nv;
  nv.reserve(headers.size());
  auto add = [&nv](std::string_view name, std::string_view value) {
    nv.push_back({reinterpret_cast<uint8_t*>(const_cast<char*>(name.data())),
                  reinterpret_cast<uint8_t*>(const_cast<char*>(value.data())), name.size(),
                  value.size(), NGHTTP2_NV_FLAG_NONE});
  };
  for (const auto& [name, value] : headers.entries()) {
    if (!name.empty() && name[0] == ':') add(name, value);
  }
  for (const auto& [name, value] : headers.entries()) {
    if (name.empty() || name[0] == ':' || connectionSpecific(name)) continue;
    if (name == "te" && value != "trailers") continue;
    add(name, value);
  }
  return nv;
}

}  // namespace

// One HTTP/2 stream, either side: decodes into its decoder, encodes through nghttp2.
class ConnectionImpl::StreamImpl : public ResponseEncoder,
                                   public RequestEncoder,
                                   public Stream,
                                   public event::DeferredDeletable {
 public:
  StreamImpl(ConnectionImpl& parent, int32_t id) : parent(parent), id(id) {}

  // StreamEncoder
  void encodeInformationalHeaders(const HeaderMap& headers) override {
    auto nv = toNv(headers);
    nghttp2_submit_headers(parent.session_, NGHTTP2_FLAG_NONE, id, nullptr, nv.data(), nv.size(),
                           nullptr);
    parent.sendPending();
  }
  void encodeHeaders(const HeaderMap& headers, bool end_stream) override;
  void encodeData(buffer::Instance& data, bool end_stream) override {
    outbound.move(data);
    if (end_stream) local_end = true;
    checkWatermark();
    if (id > 0 && data_deferred) {
      data_deferred = false;
      nghttp2_session_resume_data(parent.session_, id);
    }
    parent.sendPending();
  }
  void encodeTrailers(const HeaderMap& trailers) override {
    pending_trailers = std::make_unique<HeaderMap>(trailers);
    local_end = true;
    if (id > 0 && data_deferred) {
      data_deferred = false;
      nghttp2_session_resume_data(parent.session_, id);
    }
    parent.sendPending();
  }
  Stream& stream() override { return *this; }

  // Stream
  void addCallbacks(StreamCallbacks& callbacks) override { callbacks_.add(callbacks); }
  void removeCallbacks(StreamCallbacks& callbacks) override { callbacks_.remove(callbacks); }
  void resetStream(StreamResetReason reason) override {
    if (closed) return;
    if (reason == StreamResetReason::kResponseComplete && id > 0 && local_end &&
        (outbound.length() > 0 || data_deferred || pending_trailers)) {
      // The response is still queued: RST_STREAM(NO_ERROR) would overtake its DATA (nghttp2
      // sends control frames first). readData() sends it behind the last DATA frame instead.
      reset_when_sent = true;
      notifyReset(reason, "http2.response_complete");
      decoder = nullptr;
      return;
    }
    if (id > 0) {
      uint32_t code = NGHTTP2_INTERNAL_ERROR;
      if (reason == StreamResetReason::kLocalReset) code = NGHTTP2_CANCEL;
      if (reason == StreamResetReason::kResponseComplete) code = NGHTTP2_NO_ERROR;
      nghttp2_submit_rst_stream(parent.session_, NGHTTP2_FLAG_NONE, id, code);
      parent.sendPending();
    }
    notifyReset(reason, "http2.local_reset");
    // Frames still in flight for this stream must not reach its (finished) consumer.
    decoder = nullptr;
  }
  void readDisable(bool disable) override {
    if (disable) {
      ++read_disabled;
      return;
    }
    if (read_disabled > 0 && --read_disabled == 0 && unconsumed > 0 && id > 0) {
      nghttp2_session_consume(parent.session_, id, unconsumed);
      unconsumed = 0;
      parent.sendPending();
    }
  }

  void notifyReset(StreamResetReason reason, std::string_view details) {
    if (closed) return;
    closed = true;
    callbacks_.notifyReset(reason, details);
  }
  void checkWatermark() {
    size_t limit = parent.settings_.stream_buffer_limit;
    if (!above_watermark && outbound.length() > limit) {
      above_watermark = true;
      callbacks_.notifyWatermark(true);
    } else if (above_watermark && outbound.length() <= limit / 2) {
      above_watermark = false;
      callbacks_.notifyWatermark(false);
    }
  }

  // nghttp2 pulls DATA from `outbound` through this provider.
  static ssize_t readData(nghttp2_session*, int32_t, uint8_t* buf, size_t length,
                          uint32_t* data_flags, nghttp2_data_source* source, void*) {
    auto* self = static_cast<StreamImpl*>(source->ptr);
    size_t n = std::min(length, self->outbound.length());
    self->outbound.copyOut(0, n, buf);
    self->outbound.drain(n);
    self->checkWatermark();
    if (self->outbound.length() == 0) {
      if (!self->local_end) {
        if (n == 0) {
          self->data_deferred = true;
          return NGHTTP2_ERR_DEFERRED;
        }
        return static_cast<ssize_t>(n);
      }
      *data_flags |= NGHTTP2_DATA_FLAG_EOF;
      if (self->reset_when_sent && !self->pending_trailers) {
        nghttp2_submit_rst_stream(self->parent.session_, NGHTTP2_FLAG_NONE, self->id,
                                  NGHTTP2_NO_ERROR);
      }
      if (self->pending_trailers) {
        *data_flags |= NGHTTP2_DATA_FLAG_NO_END_STREAM;
        auto nv = toNv(*self->pending_trailers);
        nghttp2_submit_trailer(self->parent.session_, self->id, nv.data(), nv.size());
      }
    }
    return static_cast<ssize_t>(n);
  }

  ConnectionImpl& parent;
  int32_t id;
  StreamDecoder* decoder = nullptr;
  std::unique_ptr<HeaderMap> headers;  // being received
  size_t header_bytes = 0;
  bool headers_delivered = false;
  bool remote_end = false;
  bool local_end = false;
  bool closed = false;
  bool data_deferred = false;
  bool reset_when_sent = false;
  bool above_watermark = false;
  uint32_t read_disabled = 0;
  size_t unconsumed = 0;
  buffer::OwnedBuffer outbound;
  std::unique_ptr<HeaderMap> pending_trailers;

 private:
  StreamCallbackList callbacks_;
};

void ConnectionImpl::StreamImpl::encodeHeaders(const HeaderMap& headers, bool end_stream) {
  if (end_stream) local_end = true;
  auto nv = toNv(headers);
  nghttp2_data_provider provider;
  provider.source.ptr = this;
  provider.read_callback = &StreamImpl::readData;
  nghttp2_data_provider* body = end_stream ? nullptr : &provider;
  if (id > 0) {
    nghttp2_submit_response(parent.session_, id, nv.data(), nv.size(), body);
  } else {
    // Client side: the stream id is known once the request is submitted.
    int32_t assigned =
        nghttp2_submit_request(parent.session_, nullptr, nv.data(), nv.size(), body, this);
    if (assigned < 0) {
      notifyReset(StreamResetReason::kLocalReset, nghttp2_strerror(assigned));
      return;
    }
    id = assigned;
    parent.onStreamSubmitted(*this);
  }
  parent.sendPending();
}

// nghttp2 callbacks forwarded to the connection object.
struct Callbacks {
  static ConnectionImpl& self(void* user) { return *static_cast<ConnectionImpl*>(user); }
  static int beginHeaders(nghttp2_session*, const nghttp2_frame* frame, void* user) {
    return self(user).onBeginHeaders(frame);
  }
  static int header(nghttp2_session*, const nghttp2_frame* frame, const uint8_t* name,
                    size_t namelen, const uint8_t* value, size_t valuelen, uint8_t, void* user) {
    return self(user).onHeader(frame,
                               std::string_view(reinterpret_cast<const char*>(name), namelen),
                               std::string_view(reinterpret_cast<const char*>(value), valuelen));
  }
  static int frameRecv(nghttp2_session*, const nghttp2_frame* frame, void* user) {
    return self(user).onFrameRecv(frame);
  }
  static int dataChunk(nghttp2_session*, uint8_t, int32_t stream_id, const uint8_t* data,
                       size_t len, void* user) {
    return self(user).onDataChunk(stream_id, data, len);
  }
  static int streamClose(nghttp2_session*, int32_t stream_id, uint32_t error_code, void* user) {
    return self(user).onStreamClose(stream_id, error_code);
  }
};

ConnectionImpl::ConnectionImpl(network::Connection& connection, const Http2Settings& settings,
                               bool server)
    : connection_(connection), settings_(settings) {
  nghttp2_session_callbacks* callbacks;
  nghttp2_session_callbacks_new(&callbacks);
  nghttp2_session_callbacks_set_on_begin_headers_callback(callbacks, &Callbacks::beginHeaders);
  nghttp2_session_callbacks_set_on_header_callback(callbacks, &Callbacks::header);
  nghttp2_session_callbacks_set_on_frame_recv_callback(callbacks, &Callbacks::frameRecv);
  nghttp2_session_callbacks_set_on_data_chunk_recv_callback(callbacks, &Callbacks::dataChunk);
  nghttp2_session_callbacks_set_on_stream_close_callback(callbacks, &Callbacks::streamClose);
  nghttp2_option* option;
  nghttp2_option_new(&option);
  // Window updates are sent as the consumer takes data (flow control), not on receipt.
  nghttp2_option_set_no_auto_window_update(option, 1);
  nghttp2_option_set_max_outbound_ack(option, settings_.max_outbound_ack);
  nghttp2_option_set_max_settings(option, 32);
  nghttp2_option_set_stream_reset_rate_limit(option, settings_.reset_burst, settings_.reset_rate);
  nghttp2_option_set_max_continuations(option, 8);
  if (server) {
    nghttp2_session_server_new2(&session_, callbacks, this, option);
  } else {
    nghttp2_session_client_new2(&session_, callbacks, this, option);
  }
  nghttp2_option_del(option);
  nghttp2_session_callbacks_del(callbacks);
  nghttp2_settings_entry entries[] = {
      {NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, settings_.max_concurrent_streams},
      {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, settings_.initial_stream_window_size},
      {NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE, settings_.max_header_list_size},
      {NGHTTP2_SETTINGS_ENABLE_PUSH, 0},
  };
  nghttp2_submit_settings(session_, NGHTTP2_FLAG_NONE, entries, server ? 3 : 4);
  nghttp2_session_set_local_window_size(
      session_, NGHTTP2_FLAG_NONE, 0,
      static_cast<int32_t>(settings_.initial_connection_window_size));
}

ConnectionImpl::~ConnectionImpl() {
  for (auto& [id, stream] : streams_)
    stream->notifyReset(StreamResetReason::kConnectionTermination, "");
  nghttp2_session_del(session_);
}

ConnectionImpl::StreamImpl* ConnectionImpl::stream(int32_t id) {
  auto it = streams_.find(id);
  return it == streams_.end() ? nullptr : it->second.get();
}

ConnectionImpl::StreamImpl& ConnectionImpl::addStream(std::unique_ptr<StreamImpl> stream) {
  auto& raw = *stream;
  streams_[stream->id] = std::move(stream);
  return raw;
}

void ConnectionImpl::releaseStream(int32_t id) {
  auto it = streams_.find(id);
  if (it == streams_.end()) return;
  nghttp2_session_set_stream_user_data(session_, id, nullptr);
  connection_.dispatcher().deferredDelete(std::move(it->second));
  streams_.erase(it);
}

std::optional<CodecError> ConnectionImpl::dispatch(buffer::Instance& data) {
  // Fed to nghttp2 chunk by chunk, straight from the buffer.
  input_.move(data);
  dispatching_ = true;
  ssize_t rv = 0;
  while (input_.length() > 0) {
    std::string_view slice = input_.frontSlice();
    rv = nghttp2_session_mem_recv(session_, reinterpret_cast<const uint8_t*>(slice.data()),
                                  slice.size());
    if (rv < 0) break;
    input_.drain(slice.size());
  }
  input_.drain(input_.length());
  dispatching_ = false;
  sendPending();
  if (rv < 0) {
    return CodecError{
        0, std::string("http2.protocol_error: ") + nghttp2_strerror(static_cast<int>(rv))};
  }
  if (!nghttp2_session_want_read(session_) && !nghttp2_session_want_write(session_)) {
    // nghttp2 gave up on the peer (flood, GOAWAY sent): the connection ends.
    return CodecError{0, "http2.session_terminated"};
  }
  return std::nullopt;
}

std::optional<CodecError> ConnectionImpl::dispatchEndOfStream() {
  std::vector<int32_t> ids;
  for (auto& [id, stream] : streams_) ids.push_back(id);
  for (int32_t id : ids) {
    if (auto* s = stream(id))
      s->notifyReset(StreamResetReason::kConnectionTermination, "http2.eof");
    releaseStream(id);
  }
  return std::nullopt;
}

void ConnectionImpl::sendPending() {
  if (sending_paused_ || dispatching_) return;
  buffer::OwnedBuffer& out = send_scratch_;
  while (true) {
    const uint8_t* data;
    ssize_t n = nghttp2_session_mem_send(session_, &data);
    if (n <= 0) break;
    out.add(data, static_cast<size_t>(n));
  }
  if (out.length() > 0) connection_.write(out, false);
}

void ConnectionImpl::shutdownNotice() {
  // Server sessions only; a client's notice would mean nothing to the peer.
  if (nghttp2_submit_shutdown_notice(session_) == 0) sendPending();
}

void ConnectionImpl::goAway() {
  going_away_ = true;
  nghttp2_submit_goaway(session_, NGHTTP2_FLAG_NONE,
                        nghttp2_session_get_last_proc_stream_id(session_), NGHTTP2_NO_ERROR,
                        nullptr, 0);
  sendPending();
}

void ConnectionImpl::onUnderlyingConnectionAboveWriteBufferHighWatermark() {
  sending_paused_ = true;
}

void ConnectionImpl::onUnderlyingConnectionBelowWriteBufferLowWatermark() {
  sending_paused_ = false;
  sendPending();
}

int ConnectionImpl::onBeginHeaders(const nghttp2_frame* frame) {
  if (frame->hd.type != NGHTTP2_HEADERS) return 0;
  int32_t id = frame->hd.stream_id;
  if (frame->headers.cat == NGHTTP2_HCAT_REQUEST) onStreamBegin(id);
  if (auto* s = stream(id)) {
    s->headers = std::make_unique<HeaderMap>();
    s->header_bytes = 0;
  }
  return 0;
}

int ConnectionImpl::onHeader(const nghttp2_frame* frame, std::string_view name,
                             std::string_view value) {
  auto* s = stream(frame->hd.stream_id);
  if (s == nullptr || !s->headers) return 0;
  s->header_bytes += name.size() + value.size();
  if (s->header_bytes > settings_.max_header_list_size) {
    return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;  // resets this stream only
  }
  s->headers->add(name, value);
  return 0;
}

int ConnectionImpl::onFrameRecv(const nghttp2_frame* frame) {
  if (frame->hd.type == NGHTTP2_GOAWAY) {
    onGoAwayReceived(frame->goaway.last_stream_id);
    return 0;
  }
  auto* s = stream(frame->hd.stream_id);
  if (s == nullptr || s->decoder == nullptr) return 0;
  bool end = (frame->hd.flags & NGHTTP2_FLAG_END_STREAM) != 0;
  if (frame->hd.type == NGHTTP2_HEADERS) {
    auto headers = std::move(s->headers);
    if (!headers) return 0;
    if (end) s->remote_end = true;
    if (!s->headers_delivered) {
      uint32_t status = headers->status();
      if (status >= 100 && status < 200) {
        s->decoder->decodeInformationalHeaders(std::move(headers));
        return 0;
      }
      s->headers_delivered = true;
      s->decoder->decodeHeaders(std::move(headers), end);
    } else {
      s->decoder->decodeTrailers(std::move(headers));
    }
  } else if (frame->hd.type == NGHTTP2_DATA && end) {
    s->remote_end = true;
    body_scratch_.drain(body_scratch_.length());
    s->decoder->decodeData(body_scratch_, true);
  }
  return 0;
}

int ConnectionImpl::onDataChunk(int32_t stream_id, const uint8_t* data, size_t length) {
  auto* s = stream(stream_id);
  if (s == nullptr || s->decoder == nullptr) {
    nghttp2_session_consume(session_, stream_id, length);
    return 0;
  }
  body_scratch_.add(data, length);
  s->decoder->decodeData(body_scratch_, false);
  body_scratch_.drain(body_scratch_.length());
  // The window opens again only once the consumer wants more (flow control).
  if (s->read_disabled > 0) {
    s->unconsumed += length;
  } else {
    nghttp2_session_consume(session_, stream_id, length);
  }
  return 0;
}

int ConnectionImpl::onStreamClose(int32_t stream_id, uint32_t error_code) {
  auto* s = stream(stream_id);
  if (s == nullptr) return 0;
  bool complete = s->remote_end && s->local_end && s->outbound.length() == 0;
  if (!complete) {
    StreamResetReason reason =
        error_code == NGHTTP2_REFUSED_STREAM   ? StreamResetReason::kRefusedStream
        : error_code == NGHTTP2_PROTOCOL_ERROR ? StreamResetReason::kProtocolError
                                               : StreamResetReason::kRemoteReset;
    s->notifyReset(reason, nghttp2_http2_strerror(error_code));
  }
  releaseStream(stream_id);
  return 0;
}

ServerConnectionImpl::ServerConnectionImpl(network::Connection& connection,
                                           ServerConnectionCallbacks& callbacks,
                                           const Http2Settings& settings)
    : ConnectionImpl(connection, settings, true), callbacks_(callbacks) {
  sendPending();
}

ServerConnectionImpl::~ServerConnectionImpl() = default;

void ServerConnectionImpl::onStreamBegin(int32_t id) {
  auto& s = addStream(std::make_unique<StreamImpl>(*this, id));
  nghttp2_session_set_stream_user_data(session_, id, &s);
  s.decoder = &callbacks_.newStream(s);
}

ClientConnectionImpl::ClientConnectionImpl(network::Connection& connection,
                                           ClientConnectionCallbacks& callbacks,
                                           const Http2Settings& settings)
    : ConnectionImpl(connection, settings, false), callbacks_(callbacks) {
  sendPending();
}

ClientConnectionImpl::~ClientConnectionImpl() = default;

RequestEncoder& ClientConnectionImpl::newStream(StreamDecoder& response_decoder) {
  // The stream gets its id when its headers are submitted; until then it is keyed by a
  // negative placeholder.
  static int32_t next_placeholder = -1;
  auto s = std::make_unique<StreamImpl>(*this, next_placeholder--);
  s->decoder = &response_decoder;
  auto& raw = *s;
  pending_.push_back(std::move(s));
  return raw;
}

bool ClientConnectionImpl::canStartStream() const {
  if (peer_going_away_ || going_away_) return false;
  uint32_t limit =
      nghttp2_session_get_remote_settings(session_, NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS);
  return streams_.size() + pending_.size() < limit;
}

void ClientConnectionImpl::onStreamSubmitted(StreamImpl& stream) {
  for (auto it = pending_.begin(); it != pending_.end(); ++it) {
    if (it->get() == &stream) {
      addStream(std::move(*it));
      pending_.erase(it);
      return;
    }
  }
}

void ClientConnectionImpl::onGoAwayReceived(int32_t) {
  peer_going_away_ = true;
  callbacks_.onGoAway();
}

}  // namespace remora::http::http2
