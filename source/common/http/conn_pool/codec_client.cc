#include "source/common/http/conn_pool/codec_client.h"

#include "source/common/common/logger.h"

namespace remora::http {

// Feeds the connection's bytes to the codec.
class CodecClient::ReadFilter : public network::ReadFilter {
 public:
  explicit ReadFilter(CodecClient& parent) : parent_(parent) {}
  void initializeReadFilterCallbacks(network::ReadFilterCallbacks&) override {}
  network::ReadFilterStatus onNewConnection() override {
    return network::ReadFilterStatus::kContinue;
  }
  network::ReadFilterStatus onData(buffer::Instance& data, bool end_stream) override {
    parent_.onData(data, end_stream);
    return network::ReadFilterStatus::kStop;
  }

 private:
  CodecClient& parent_;
};

// Wraps the caller's response decoder to see when the response completes, and listens for
// the stream's reset, so the pool knows when the connection is free again.
class CodecClient::ActiveRequest : public StreamDecoder,
                                   public StreamCallbacks,
                                   public event::DeferredDeletable {
 public:
  ActiveRequest(CodecClient& parent, StreamDecoder& inner) : parent_(parent), inner_(inner) {}
  void decodeInformationalHeaders(std::unique_ptr<HeaderMap> headers) override {
    inner_.decodeInformationalHeaders(std::move(headers));
  }
  void decodeHeaders(std::unique_ptr<HeaderMap> headers, bool end_stream) override {
    inner_.decodeHeaders(std::move(headers), end_stream);
    if (end_stream) onResponseComplete();
  }
  void decodeData(buffer::Instance& data, bool end_stream) override {
    inner_.decodeData(data, end_stream);
    if (end_stream) onResponseComplete();
  }
  void decodeTrailers(std::unique_ptr<HeaderMap> trailers) override {
    inner_.decodeTrailers(std::move(trailers));
    onResponseComplete();
  }
  // The response ended. The stream itself may live on (a request still sending, as in a
  // bidirectional gRPC call): this object goes away now, so it must not hear of the stream
  // again. The stream is alive here: this runs inside one of its callbacks.
  void onResponseComplete() {
    if (encoder != nullptr && !done) encoder->stream().removeCallbacks(*this);
    parent_.onRequestDone(*this);
  }
  void onResetStream(StreamResetReason, std::string_view) override { parent_.onRequestDone(*this); }

  std::list<std::unique_ptr<ActiveRequest>>::iterator self;
  RequestEncoder* encoder = nullptr;
  bool done = false;

 private:
  CodecClient& parent_;
  StreamDecoder& inner_;
};

CodecClient::CodecClient(network::ClientConnectionPtr connection,
                         const ClientCodecFactory& codec_factory, upstream::HostConstSharedPtr host,
                         CodecClientCallbacks& callbacks, CodecClientOptions options)
    : connection_(std::move(connection)),
      host_(std::move(host)),
      callbacks_(callbacks),
      options_(options) {
  idle_timer_ = connection_->dispatcher().createTimer([this] { close(); });
  connection_->addConnectionCallbacks(*this);
  connection_->addReadFilter(std::make_shared<ReadFilter>(*this));
  codec_ = codec_factory(*connection_, *this);
}

CodecClient::~CodecClient() {
  if (connection_->state() != network::Connection::State::kClosed) {
    connection_->removeConnectionCallbacks(*this);
    connection_->close(network::ConnectionCloseType::kNoFlush);
  }
}

RequestEncoder& CodecClient::newStream(StreamDecoder& decoder) {
  ++streams_started_;
  idle_timer_->disable();
  auto request = std::make_unique<ActiveRequest>(*this, decoder);
  auto& raw = *request;
  requests_.push_back(std::move(request));
  raw.self = std::prev(requests_.end());
  raw.encoder = &codec_->newStream(raw);
  raw.encoder->stream().addCallbacks(raw);
  return *raw.encoder;
}

void CodecClient::onRequestDone(ActiveRequest& request) {
  if (request.done) return;
  request.done = true;
  // Deleted later: the codec is usually inside a callback of this very stream.
  auto owned = std::move(*request.self);
  requests_.erase(request.self);
  connection_->dispatcher().deferredDelete(std::move(owned));
  if (requests_.empty()) onIdle();
  callbacks_.onStreamDone(*this);
}

void CodecClient::onIdle() {
  if (closed_) return;
  if (retiring_ || going_away_ || exhausted()) {
    idle_timer_->enable(std::chrono::milliseconds(0));
  } else if (options_.idle_timeout.count() > 0) {
    idle_timer_->enable(options_.idle_timeout);
  }
}

void CodecClient::retireWhenIdle() {
  retiring_ = true;
  if (requests_.empty()) onIdle();
}

void CodecClient::onData(buffer::Instance& data, bool end_stream) {
  auto error = codec_->dispatch(data);
  if (!error && end_stream) error = codec_->dispatchEndOfStream();
  if (error) {
    REMORA_LOG(debug, "upstream %s: %s", host_->address.asString().c_str(), error->details.c_str());
    close();
  }
}

void CodecClient::close() { connection_->close(network::ConnectionCloseType::kNoFlush); }

void CodecClient::onEvent(network::ConnectionEvent event) {
  if (event == network::ConnectionEvent::kConnected) {
    connected_ = true;
    connection_->initializeReadFilters();
    callbacks_.onConnected(*this);
    if (requests_.empty()) onIdle();
    return;
  }
  if (closed_) return;
  closed_ = true;
  idle_timer_->disable();
  // Streams still open hear about it through the codec first.
  auto error = codec_->dispatchEndOfStream();
  (void)error;
  while (!requests_.empty()) {
    auto& request = *requests_.front();
    request.encoder->stream().resetStream(connected_ ? StreamResetReason::kConnectionTermination
                                                     : StreamResetReason::kConnectionFailure);
    if (!requests_.empty() && &request == requests_.front().get()) onRequestDone(request);
  }
  callbacks_.onClosed(*this, connected_, connection_->failureReason());
}

void CodecClient::onAboveWriteBufferHighWatermark() {
  codec_->onUnderlyingConnectionAboveWriteBufferHighWatermark();
}

void CodecClient::onBelowWriteBufferLowWatermark() {
  codec_->onUnderlyingConnectionBelowWriteBufferLowWatermark();
}

void CodecClient::onGoAway() {
  going_away_ = true;
  if (requests_.empty()) onIdle();
  callbacks_.onGoAway(*this);
}

}  // namespace remora::http
