#include "test/filters/network/rbac/rbac_test_helpers.h"

#include <google/protobuf/text_format.h>
#include <sys/socket.h>
#include <unistd.h>

#include <csignal>
#include <sstream>

#include "gtest/gtest.h"

namespace remora::filters::rbac::testing {
namespace {

network::Address address(const std::string& ip_port) {
  size_t colon = ip_port.rfind(':');
  auto parsed = network::Address::fromIpPort(
      ip_port.substr(0, colon), static_cast<uint16_t>(std::stoi(ip_port.substr(colon + 1))));
  EXPECT_TRUE(parsed.has_value()) << ip_port;
  return parsed.value_or(network::Address());
}

}  // namespace

void FakeTlsTransport::finish(const std::string& principal) {
  done_ = true;
  info_.version = "TLSv1.3";
  info_.peer_certificate_presented = !principal.empty();
  info_.peer_certificate_validated = !principal.empty();
  info_.peer_principal = principal;
  if (!principal.empty()) info_.peer_uri_sans.push_back(principal);
}

network::IoResult FakeTlsTransport::doRead(buffer::Instance& buffer) {
  if (done_) return raw_.doRead(buffer);
  network::IoResult result = raw_.doRead(handshake_);
  std::string seen = handshake_.toString();
  size_t end = seen.find('\n');
  if (end == std::string::npos) {
    // Handshake bytes are not application data.
    result.bytes_processed = 0;
    return result;
  }
  std::string line = seen.substr(0, end);
  if (line.rfind("HELLO", 0) != 0) {
    failure_ = "TLS handshake failed: test";
    result.action = network::PostIoAction::kClose;
    result.bytes_processed = 0;
    return result;
  }
  finish(line.size() > 6 ? line.substr(6) : "");
  handshake_.drain(end + 1);
  result.bytes_processed = handshake_.length();
  buffer.move(handshake_);
  return result;
}

TestConnection::TestConnection(event::Dispatcher& dispatcher, network::TransportSocketPtr transport,
                               const std::string& remote, const std::string& local) {
  // Writes to a closed peer must fail with EPIPE, not kill the test.
  std::signal(SIGPIPE, SIG_IGN);
  int fds[2];
  EXPECT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds), 0);
  peer = fds[1];
  connection = std::make_unique<network::ConnectionImpl>(
      dispatcher, fds[0], address(local), address(remote), std::move(transport), true);
}

TestConnection::~TestConnection() {
  if (connection && connection->state() != network::Connection::State::kClosed) {
    connection->close(network::ConnectionCloseType::kNoFlush);
  }
  connection.reset();
  if (peer >= 0) ::close(peer);
}

void TestConnection::send(const std::string& bytes) const {
  EXPECT_EQ(::send(peer, bytes.data(), bytes.size(), MSG_NOSIGNAL),
            static_cast<ssize_t>(bytes.size()));
}

bool TestConnection::peerSawClose() const {
  char byte;
  ssize_t n = ::recv(peer, &byte, 1, MSG_PEEK | MSG_DONTWAIT);
  return n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK);
}

ProtoConfig parseConfig(const std::string& text) {
  ProtoConfig proto;
  EXPECT_TRUE(google::protobuf::TextFormat::ParseFromString(text, &proto)) << text;
  return proto;
}

std::optional<double> decisions(const stats::Store& store, const std::string& filter,
                                const std::string& stat_prefix, const std::string& policy,
                                const std::string& decision) {
  std::string series = "remora_rbac_decisions_total{decision=\"" + decision + "\",filter=\"" +
                       filter + "\",policy=\"" + policy + "\",stat_prefix=\"" + stat_prefix +
                       "\"} ";
  std::istringstream text(store.prometheusText());
  for (std::string line; std::getline(text, line);) {
    if (line.rfind(series, 0) == 0) return std::stod(line.substr(series.size()));
  }
  return std::nullopt;
}

}  // namespace remora::filters::rbac::testing
