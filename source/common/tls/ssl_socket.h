#pragma once

// A TLS transport socket (OpenSSL) for one connection, client or server by its context. The
// handshake runs inside doRead/doWrite as the socket becomes ready; a client connection is
// reported connected only once it has finished. Failures are counted by reason (tls_stats.h)
// and given as the connection's failure reason.

#include <openssl/ssl.h>

#include <memory>
#include <string>

#include "source/common/tls/tls_context.h"
#include "source/common/tls/tls_stats.h"
#include "source/interface/network/transport_socket.h"

namespace remora::tls {

class SslSocket : public network::TransportSocket {
 public:
  // `context` null: no certificate is available yet; the handshake fails at once with reason
  // no_certificate_yet (the connection is refused rather than served without TLS).
  SslSocket(std::shared_ptr<const TlsContext> context, std::shared_ptr<TlsStats> stats);
  ~SslSocket() override;

  // The socket driving `ssl` (its app data); null if none.
  static SslSocket* of(const SSL* ssl);
  // Called from the verify callback: why the peer's certificate was refused.
  void noteVerifyError(int x509_error);
  void noteSanMismatch();

  // network::TransportSocket
  void setCallbacks(network::TransportSocketCallbacks& callbacks) override {
    callbacks_ = &callbacks;
  }
  std::string protocol() const override { return info_.alpn; }
  network::IoResult doRead(buffer::Instance& buffer) override;
  network::IoResult doWrite(buffer::Instance& buffer, bool end_stream) override;
  void onConnected() override;
  bool implementsSecureTransport() const override { return true; }
  bool canFlushWrite() const override {
    return handshake_done_ || handshake_wants_write_ || failed_;
  }
  bool hasPendingReadData() const override;
  std::string_view failureReason() const override { return failure_reason_; }
  const network::SslConnectionInfo* ssl() const override {
    return handshake_done_ ? &info_ : nullptr;
  }
  // Counted as reason handshake_timeout.
  void onHandshakeTimeout() override;

 private:
  enum class Step { kDone, kInProgress, kFailed };
  Step continueHandshake();
  void onHandshakeDone();
  void fail(std::string reason, std::string detail);
  std::string classifyHandshakeError(int ssl_error, std::string& detail);

  std::shared_ptr<const TlsContext> context_;
  std::shared_ptr<TlsStats> stats_;
  network::TransportSocketCallbacks* callbacks_ = nullptr;
  SSL* ssl_ = nullptr;
  bool handshake_done_ = false;
  bool handshake_wants_write_ = false;
  bool failed_ = false;
  bool shutdown_sent_ = false;
  // Bytes of the SSL_write that must be retried with the same length.
  size_t pending_write_ = 0;
  // Set by the verify callback: the precise reason a peer certificate was refused.
  std::string verify_reason_;
  std::string verify_detail_;
  std::string failure_reason_;
  network::SslConnectionInfo info_;
};

}  // namespace remora::tls
