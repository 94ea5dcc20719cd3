#include "test/common/config/fake_control_plane.h"

#include <arpa/inet.h>

#include <cstring>

#include "source/common/buffer/owned_buffer.h"
#include "source/common/http/http2/codec_impl.h"
#include "source/common/network/raw_transport_socket.h"

namespace remora::config::test {

// One accepted connection: bytes go to an HTTP/2 server codec; the stream's body is cut into
// gRPC messages.
class FakeControlPlane::Session : public network::ReadFilter,
                                  public http::ServerConnectionCallbacks,
                                  public http::StreamDecoder {
 public:
  Session(FakeControlPlane& parent, std::unique_ptr<network::ConnectionImpl> connection)
      : parent_(parent), connection_(std::move(connection)) {
    codec_ = std::make_unique<http::http2::ServerConnectionImpl>(*connection_, *this,
                                                                 http::http2::Http2Settings{});
  }
  network::Connection& connection() { return *connection_; }

  // network::ReadFilter
  void initializeReadFilterCallbacks(network::ReadFilterCallbacks&) override {}
  network::ReadFilterStatus onNewConnection() override {
    return network::ReadFilterStatus::kContinue;
  }
  network::ReadFilterStatus onData(buffer::Instance& data, bool) override {
    if (codec_->dispatch(data)) connection_->close(network::ConnectionCloseType::kNoFlush);
    return network::ReadFilterStatus::kStop;
  }
  // http::ServerConnectionCallbacks
  http::StreamDecoder& newStream(http::ResponseEncoder& encoder) override {
    parent_.current_ = &encoder;
    ++parent_.streams_;
    return *this;
  }
  // http::StreamDecoder
  void decodeHeaders(std::unique_ptr<http::HeaderMap> headers, bool) override {
    parent_.last_path_ = std::string(headers->get(":path").value_or(""));
    http::HeaderMap response;
    response.add(":status", "200");
    response.add("content-type", "application/grpc");
    if (parent_.current_ != nullptr) parent_.current_->encodeHeaders(response, false);
  }
  void decodeData(buffer::Instance& data, bool) override {
    body_.move(data);
    while (body_.length() >= 5) {
      uint8_t prefix[5];
      body_.copyOut(0, 5, prefix);
      uint32_t length;
      std::memcpy(&length, prefix + 1, 4);
      length = ntohl(length);
      if (body_.length() < 5 + static_cast<size_t>(length)) break;
      body_.drain(5);
      std::string bytes(length, '\0');
      body_.copyOut(0, length, bytes.data());
      body_.drain(length);
      parent_.requests_.push_back(std::move(bytes));
    }
  }
  void decodeTrailers(std::unique_ptr<http::HeaderMap>) override {}

 private:
  FakeControlPlane& parent_;
  std::unique_ptr<network::ConnectionImpl> connection_;
  std::unique_ptr<http::http2::ServerConnectionImpl> codec_;
  buffer::OwnedBuffer body_;
};

FakeControlPlane::FakeControlPlane(event::Dispatcher& dispatcher) : dispatcher_(dispatcher) {
  std::string error;
  int fd = network::createListenSocket(*network::Address::fromIpPort("127.0.0.1", 0), false, error);
  port_ = network::boundAddress(fd).port();
  listener_ = std::make_unique<network::TcpListener>(
      dispatcher_, fd,
      [this](int accepted, const network::Address& local, const network::Address& remote) {
        auto connection = std::make_unique<network::ConnectionImpl>(
            dispatcher_, accepted, local, remote, std::make_unique<network::RawTransportSocket>(),
            true);
        auto* raw = connection.get();
        sessions_.push_back(std::make_unique<Session>(*this, std::move(connection)));
        // The session outlives the connection's filter list: hand it a non-owning pointer.
        raw->addReadFilter(std::shared_ptr<network::ReadFilter>(sessions_.back().get(),
                                                                [](network::ReadFilter*) {}));
        raw->initializeReadFilters();
      });
}

FakeControlPlane::~FakeControlPlane() {
  current_ = nullptr;
  sessions_.clear();
}

std::vector<service::discovery::v1::DiscoveryRequest> FakeControlPlane::sotwRequests() const {
  std::vector<service::discovery::v1::DiscoveryRequest> out;
  for (const auto& bytes : requests_) out.emplace_back().ParseFromString(bytes);
  return out;
}

std::vector<service::discovery::v1::DeltaDiscoveryRequest> FakeControlPlane::deltaRequests() const {
  std::vector<service::discovery::v1::DeltaDiscoveryRequest> out;
  for (const auto& bytes : requests_) out.emplace_back().ParseFromString(bytes);
  return out;
}

void FakeControlPlane::send(const google::protobuf::Message& response) {
  if (current_ == nullptr) return;
  std::string bytes = response.SerializeAsString();
  uint8_t prefix[5] = {0};
  uint32_t length = htonl(static_cast<uint32_t>(bytes.size()));
  std::memcpy(prefix + 1, &length, 4);
  buffer::OwnedBuffer frame;
  frame.add(prefix, sizeof(prefix));
  frame.add(bytes);
  current_->encodeData(frame, false);
}

void FakeControlPlane::endStream(int status) {
  if (current_ == nullptr) return;
  http::HeaderMap trailers;
  std::string code = std::to_string(status);
  trailers.add("grpc-status", code);
  current_->encodeTrailers(trailers);
  current_ = nullptr;
}

void FakeControlPlane::dropConnections() {
  current_ = nullptr;
  for (auto& session : sessions_) {
    session->connection().close(network::ConnectionCloseType::kNoFlush);
  }
}

void FakeControlPlane::stopListening() { listener_.reset(); }

}  // namespace remora::config::test
