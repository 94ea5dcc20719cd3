#pragma once

// Shared by the RBAC filter tests: a server connection over a socketpair with a stand-in TLS
// transport (the handshake is a line "HELLO <spiffe id>\n" from the peer, so tests choose when
// it finishes and which identity it proves), config from protobuf text format, and decision
// counters read back from the store's exposition.

#include <memory>
#include <optional>
#include <string>

#include "filters/network/rbac/rbac_filter_config.h"
#include "source/common/buffer/owned_buffer.h"
#include "source/common/network/connection_impl.h"
#include "source/common/network/raw_transport_socket.h"
#include "source/interface/config/filter_factory.h"
#include "source/interface/event/dispatcher.h"
#include "source/interface/stats/stats.h"

namespace remora::filters::rbac::testing {

// A transport with a handshake of its own. Pending: the peer's first line is the handshake,
// "HELLO <principal>\n" (an empty principal: no client certificate) or "FAIL\n" (refused);
// what follows is application data. Done: the handshake already happened with `principal`.
class FakeTlsTransport : public network::TransportSocket {
 public:
  static std::unique_ptr<FakeTlsTransport> pending() {
    return std::unique_ptr<FakeTlsTransport>(new FakeTlsTransport());
  }
  static std::unique_ptr<FakeTlsTransport> done(const std::string& principal,
                                                const std::string& sni = "") {
    auto transport = pending();
    transport->finish(principal);
    transport->info_.server_name = sni;
    return transport;
  }

  void setCallbacks(network::TransportSocketCallbacks& callbacks) override {
    raw_.setCallbacks(callbacks);
  }
  std::string protocol() const override { return {}; }
  network::IoResult doRead(buffer::Instance& buffer) override;
  network::IoResult doWrite(buffer::Instance& buffer, bool end_stream) override {
    return raw_.doWrite(buffer, end_stream);
  }
  void onConnected() override {}
  bool implementsSecureTransport() const override { return true; }
  bool canFlushWrite() const override { return done_; }
  std::string_view failureReason() const override { return failure_; }
  const network::SslConnectionInfo* ssl() const override { return done_ ? &info_ : nullptr; }

 private:
  FakeTlsTransport() = default;
  void finish(const std::string& principal);

  network::RawTransportSocket raw_;
  buffer::OwnedBuffer handshake_;
  network::SslConnectionInfo info_;
  std::string failure_;
  bool done_ = false;
};

// An accepted connection on one end of a socketpair whose other end (`peer`) the test drives.
// The addresses are made up, so policies can match them.
struct TestConnection {
  TestConnection(event::Dispatcher& dispatcher, network::TransportSocketPtr transport,
                 const std::string& remote = "10.1.2.3:45678",
                 const std::string& local = "10.0.0.9:9080");
  ~TestConnection();

  // Sends `bytes` from the peer.
  void send(const std::string& bytes) const;
  // Whether the peer has seen the connection closed (EOF), without consuming data.
  bool peerSawClose() const;

  int peer = -1;
  std::unique_ptr<network::ConnectionImpl> connection;
};

// RBAC filter config from text format; EXPECTs it parses.
ProtoConfig parseConfig(const std::string& text);

// The value of remora_rbac_decisions_total for these labels; nullopt when the series does not
// exist.
std::optional<double> decisions(const stats::Store& store, const std::string& filter,
                                const std::string& stat_prefix, const std::string& policy,
                                const std::string& decision);

// A factory context with a real store, for the config factories.
class TestFactoryContext : public config::FactoryContext {
 public:
  explicit TestFactoryContext(stats::Store& store, std::string listener = "inbound")
      : store_(store), listener_(std::move(listener)) {}
  stats::Store& stats() override { return store_; }
  bool clusterExists(std::string_view) const override { return true; }
  const std::string& listenerName() const override { return listener_; }

 private:
  stats::Store& store_;
  std::string listener_;
};

}  // namespace remora::filters::rbac::testing
