#pragma once

// One client TLS connection for HttpsClient: a non-blocking socket driven with poll() so that
// every wait ends at the request's deadline or within 50 ms of `cancel` being set. Closes its
// socket and frees its SSL on destruction. Used by one thread at a time.

#include <openssl/ssl.h>

#include <atomic>
#include <chrono>
#include <string_view>

#include "source/common/crypto/result.h"
#include "source/pilot/kubernetes/connection_config.h"

namespace remora::pilot::kubernetes {

class TlsConnection {
 public:
  using Clock = std::chrono::steady_clock;

  // `cancel` must outlive the connection.
  TlsConnection(Clock::time_point deadline, const std::atomic<bool>& cancel);
  ~TlsConnection();
  TlsConnection(const TlsConnection&) = delete;
  TlsConnection& operator=(const TlsConnection&) = delete;

  // Connects to `target` (each resolved address in turn) and completes the handshake,
  // verifying the server's certificate against `ctx`'s store and its name against
  // target.host (a DNS name, sent as SNI too, or an IP address). Errors name the server and
  // why: "cannot connect", "server certificate not trusted: <reason>", "timed out".
  crypto::Status connect(const ClusterConnection& target, SSL_CTX* ctx);
  crypto::Status writeAll(std::string_view data);
  // Some bytes into `buffer` (n > 0), 0 at the end of the stream (close_notify or the peer
  // closing the socket: the caller decides whether the body was complete), or an error.
  crypto::Result<size_t> readSome(char* buffer, size_t size);

 private:
  crypto::Status waitForSsl(int result, const char* what);
  crypto::Status waitFor(short events);

  const Clock::time_point deadline_;
  const std::atomic<bool>& cancel_;
  int fd_ = -1;
  SSL* ssl_ = nullptr;
};

}  // namespace remora::pilot::kubernetes
