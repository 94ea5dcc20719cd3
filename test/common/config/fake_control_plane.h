#pragma once

// A scripted control plane for the ADS client's tests: an HTTP/2 (h2c) server on 127.0.0.1
// (OS-chosen port) running on the test's dispatcher. It records every request message of the
// aggregated stream and sends whatever response the test tells it to; it can end the call
// with a grpc-status or drop the connection.

#include <memory>
#include <string>
#include <vector>

#include "remora/service/discovery/v1/discovery.pb.h"
#include "source/common/network/connection_impl.h"
#include "source/common/network/listen_socket.h"
#include "source/interface/event/dispatcher.h"
#include "source/interface/http/codec.h"

namespace remora::config::test {

class FakeControlPlane {
 public:
  explicit FakeControlPlane(event::Dispatcher& dispatcher);
  ~FakeControlPlane();

  uint16_t port() const { return port_; }
  // Calls started so far (one per stream the client opened) and the path of the last one.
  size_t streams() const { return streams_; }
  const std::string& lastPath() const { return last_path_; }
  // Every request message received, in order, as raw bytes (parse as the mode's type).
  const std::vector<std::string>& requests() const { return requests_; }
  std::vector<service::discovery::v1::DiscoveryRequest> sotwRequests() const;
  std::vector<service::discovery::v1::DeltaDiscoveryRequest> deltaRequests() const;

  // Sends one response message on the current call.
  void send(const google::protobuf::Message& response);
  // Ends the current call with trailers `grpc-status: status`.
  void endStream(int status);
  // Closes every connection at once.
  void dropConnections();
  // Stops accepting: new connections are refused.
  void stopListening();

 private:
  class Session;
  friend class Session;

  event::Dispatcher& dispatcher_;
  uint16_t port_ = 0;
  std::unique_ptr<network::TcpListener> listener_;
  std::vector<std::unique_ptr<Session>> sessions_;
  http::ResponseEncoder* current_ = nullptr;
  size_t streams_ = 0;
  std::string last_path_;
  std::vector<std::string> requests_;
};

}  // namespace remora::config::test
