#include "filters/network/http_connection_manager/connection_manager.h"

#include <cstring>
#include <random>

#include "filters/network/http_connection_manager/server_codec.h"
#include "source/common/buffer/owned_buffer.h"
#include "source/common/common/logger.h"

namespace remora::filters::hcm {
namespace {
constexpr std::string_view kHttp2Preface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

const char* reasonPhrase(int status) {
  switch (status) {
    case 400:
      return "Bad Request";
    case 408:
      return "Request Timeout";
    case 413:
      return "Payload Too Large";
    case 431:
      return "Request Header Fields Too Large";
    case 501:
      return "Not Implemented";
    case 505:
      return "HTTP Version Not Supported";
    default:
      return "Error";
  }
}
}  // namespace

ConnectionManager::ConnectionManager(std::shared_ptr<const HcmConfig> config,
                                     server::WorkerContext& worker)
    : config_(std::move(config)), worker_(worker) {}

uint64_t ConnectionManager::random() {
  thread_local std::mt19937_64 generator{std::random_device{}()};
  return generator();
}

ConnectionManager::~ConnectionManager() {
  // Normally the close event ended every stream already; this covers teardown without one.
  std::vector<ActiveStream*> open;
  for (auto& stream : streams_) open.push_back(stream.get());
  for (auto* stream : open) stream->onConnectionClosed();
}

void ConnectionManager::initializeReadFilterCallbacks(network::ReadFilterCallbacks& callbacks) {
  callbacks_ = &callbacks;
  callbacks_->connection().addConnectionCallbacks(*this);
}

network::ReadFilterStatus ConnectionManager::onNewConnection() {
  if (config_->request_headers_timeout.count() > 0) {
    headers_timer_ = worker_.dispatcher().createTimer([this] {
      REMORA_LOG(debug, "[C%lu] request headers timeout", connection().id());
      if (config_->stats.header_timeouts) config_->stats.header_timeouts->inc();
      if (streams_.empty() && protocol() != http::Protocol::kHttp2) {
        sendRawErrorAndClose(408, "request_headers_timeout");
      } else {
        connection().close(network::ConnectionCloseType::kFlushWrite);
      }
    });
  }
  if (config_->idle_timeout.count() > 0) {
    idle_timer_ = worker_.dispatcher().createTimer([this] {
      if (config_->stats.idle_timeouts) config_->stats.idle_timeouts->inc();
      if (codec_) codec_->goAway();
      connection().close(network::ConnectionCloseType::kFlushWrite);
    });
    idle_timer_->enable(config_->idle_timeout);
  }
  return network::ReadFilterStatus::kContinue;
}

namespace {
// Between the HTTP/2 shutdown notice and the real GOAWAY: a generous round trip, so streams
// the client sent before it saw the notice are still accepted.
constexpr std::chrono::milliseconds kDrainGoAwayDelay{1000};
}  // namespace

void ConnectionManager::onDrain() {
  if (closed_ || draining_) return;
  draining_ = true;
  // A connection that has sent nothing yet (one accepted by a draining inbound listener) is
  // served once: the drain is applied when its codec is made.
  if (codec_ != nullptr) applyDrain(false);
}

void ConnectionManager::applyDrain(bool fresh) {
  if (!fresh && streams_.empty() && protocol() != http::Protocol::kHttp2) {
    // Nothing in flight: close now rather than race the client's next request later.
    closed_ = true;
    connection().close(network::ConnectionCloseType::kFlushWrite);
    return;
  }
  if (protocol() != http::Protocol::kHttp2) {
    codec_->goAway();  // the response in flight carries connection: close
    return;
  }
  codec_->shutdownNotice();
  drain_timer_ = worker_.dispatcher().createTimer([this] {
    if (closed_) return;
    codec_->goAway();
    if (streams_.empty()) {
      closed_ = true;
      connection().close(network::ConnectionCloseType::kFlushWrite);
    }
  });
  drain_timer_->enable(kDrainGoAwayDelay);
}

http::Protocol ConnectionManager::protocol() const {
  return codec_ ? codec_->protocol() : http::Protocol::kHttp11;
}

bool ConnectionManager::createCodec(buffer::Instance& data) {
  CodecChoice choice = config_->codec;
  if (choice == CodecChoice::kAuto) {
    size_t n = std::min(data.length(), kHttp2Preface.size());
    char head[32];
    data.copyOut(0, n, head);
    bool prefix_matches = std::memcmp(head, kHttp2Preface.data(), n) == 0;
    if (prefix_matches && n < kHttp2Preface.size()) return false;  // wait for more bytes
    choice = prefix_matches ? CodecChoice::kHttp2 : CodecChoice::kHttp1;
  }
  codec_ = createServerCodec(choice == CodecChoice::kHttp2, connection(), *this, *config_);
  if (!codec_) {
    if (config_->stats.codec_errors) config_->stats.codec_errors->inc();
    closed_ = true;
    connection().close(network::ConnectionCloseType::kNoFlush);
    return true;
  }
  if (draining_) applyDrain(true);
  return true;
}

network::ReadFilterStatus ConnectionManager::onData(buffer::Instance& data, bool end_stream) {
  if (closed_) {
    data.drain(data.length());
    return network::ReadFilterStatus::kStop;
  }
  if (headers_timer_ && !headers_timer_->enabled() && data.length() > 0) {
    // Bytes of a request are here; its headers must be complete in time (slowloris).
    headers_timer_->enable(config_->request_headers_timeout);
  }
  if (!codec_ && data.length() > 0 && !createCodec(data)) {
    if (end_stream) connection().close(network::ConnectionCloseType::kNoFlush);
    return network::ReadFilterStatus::kStop;
  }
  std::optional<http::CodecError> error;
  if (codec_) {
    error = codec_->dispatch(data);
    if (!error && end_stream) error = codec_->dispatchEndOfStream();
  } else if (end_stream) {
    connection().close(network::ConnectionCloseType::kNoFlush);
  }
  if (error) {
    REMORA_LOG(debug, "[C%lu] codec error: %s", connection().id(), error->details.c_str());
    if (config_->stats.codec_errors) config_->stats.codec_errors->inc();
    if (error->http_status > 0) {
      sendRawErrorAndClose(error->http_status, error->details);
    } else {
      connection().close(network::ConnectionCloseType::kFlushWrite);
    }
  }
  return network::ReadFilterStatus::kStop;
}

void ConnectionManager::sendRawErrorAndClose(int status, const std::string& details) {
  // The codec is unusable after an error, so the answer is written as plain HTTP/1.1.
  bool response_in_progress = false;
  for (auto& stream : streams_) {
    response_in_progress |= stream->streamInfo().response_code != 0;
  }
  if (!response_in_progress) {
    std::string body = std::string(reasonPhrase(status)) + ": " + details + "\n";
    buffer::OwnedBuffer out("HTTP/1.1 " + std::to_string(status) + " " + reasonPhrase(status) +
                            "\r\ncontent-type: text/plain\r\ncontent-length: " +
                            std::to_string(body.size()) + "\r\nconnection: close\r\n\r\n" + body);
    connection().write(out, false);
    if (auto* counter = config_->stats.forStatus(status)) counter->inc();
  }
  closed_ = true;
  connection().close(network::ConnectionCloseType::kFlushWrite);
}

http::StreamDecoder& ConnectionManager::newStream(http::ResponseEncoder& encoder) {
  auto stream = std::make_unique<ActiveStream>(*this, encoder, next_stream_id_++);
  auto& raw = *stream;
  streams_.push_back(std::move(stream));
  raw.self = std::prev(streams_.end());
  updateIdleTimer();
  return raw;
}

void ConnectionManager::onRequestHeadersComplete() {
  if (headers_timer_) headers_timer_->disable();
}

const SourceStats::Classes* ConnectionManager::sourceStats() {
  if (source_stats_ == nullptr && config_->source_stats) {
    const auto* ssl = connection().ssl();
    source_stats_ = config_->source_stats->forPrincipal(
        ssl != nullptr && !ssl->peer_principal.empty() ? ssl->peer_principal : "unknown");
  }
  return source_stats_;
}

void ConnectionManager::onStreamComplete(ActiveStream& stream) {
  auto it = stream.self;
  worker_.dispatcher().deferredDelete(std::move(*it));
  streams_.erase(it);
  updateIdleTimer();
  // Draining: the last stream ending closes the connection (HTTP/2 once its final GOAWAY is
  // out, i.e. no timer is left to send it). HTTP/1.1 usually closed already through its codec's
  // connection: close, except for a response whose headers went out before the drain began.
  const bool goaway_sent =
      protocol() != http::Protocol::kHttp2 || (drain_timer_ && !drain_timer_->enabled());
  if (draining_ && streams_.empty() && !closed_ && goaway_sent) {
    closed_ = true;
    connection().close(network::ConnectionCloseType::kFlushWrite);
  }
}

void ConnectionManager::updateIdleTimer() {
  if (!idle_timer_) return;
  if (streams_.empty()) {
    idle_timer_->enable(config_->idle_timeout);
  } else {
    idle_timer_->disable();
  }
}

void ConnectionManager::onEvent(network::ConnectionEvent event) {
  if (event == network::ConnectionEvent::kConnected) return;
  closed_ = true;
  headers_timer_.reset();
  idle_timer_.reset();
  drain_timer_.reset();
  // Each stream ends (and removes itself); iterate over a snapshot.
  std::vector<ActiveStream*> open;
  for (auto& stream : streams_) open.push_back(stream.get());
  for (auto* stream : open) stream->onConnectionClosed();
}

void ConnectionManager::onAboveWriteBufferHighWatermark() {
  if (codec_) codec_->onUnderlyingConnectionAboveWriteBufferHighWatermark();
}

void ConnectionManager::onBelowWriteBufferLowWatermark() {
  if (codec_) codec_->onUnderlyingConnectionBelowWriteBufferLowWatermark();
}

}  // namespace remora::filters::hcm
