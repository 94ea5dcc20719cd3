#pragma once

// Plaintext transport: bytes go straight between the socket and the connection's buffers.

#include "source/interface/network/transport_socket.h"

namespace remora::network {

class RawTransportSocket : public TransportSocket {
 public:
  void setCallbacks(TransportSocketCallbacks& callbacks) override { callbacks_ = &callbacks; }
  std::string protocol() const override { return {}; }
  IoResult doRead(buffer::Instance& buffer) override;
  IoResult doWrite(buffer::Instance& buffer, bool end_stream) override;
  void onConnected() override {}
  bool implementsSecureTransport() const override { return false; }

 private:
  TransportSocketCallbacks* callbacks_ = nullptr;
};

class RawTransportSocketFactory : public TransportSocketFactory {
 public:
  TransportSocketPtr createTransportSocket() const override {
    return std::make_unique<RawTransportSocket>();
  }
};

}  // namespace remora::network
