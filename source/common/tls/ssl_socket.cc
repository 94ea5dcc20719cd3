#include "source/common/tls/ssl_socket.h"

#include <openssl/err.h>
#include <openssl/x509v3.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "source/common/common/logger.h"
#include "source/common/tls/peer_certificate.h"
#include "source/common/common/log_rate_limiter.h"
#include "source/common/tls/san_matcher.h"
#include "source/interface/network/connection.h"

namespace remora::tls {
namespace {
// One TLS record's worth of plaintext.
constexpr size_t kRecordSize = 16 * 1024;

const char* verifyReason(int code) {
  switch (code) {
    case X509_V_ERR_CERT_HAS_EXPIRED:
      return "certificate_expired";
    case X509_V_ERR_CERT_NOT_YET_VALID:
      return "certificate_not_yet_valid";
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
    case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
    case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
    case X509_V_ERR_CERT_SIGNATURE_FAILURE:
    case X509_V_ERR_CERT_UNTRUSTED:
    case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
      return "unknown_ca";
    default:
      return "certificate_invalid";
  }
}

// Plaintext of up to one record, contiguous: the buffer's first slice when it is long enough,
// else a copy (writes of many small slices would otherwise become many small records).
thread_local char t_write_scratch[kRecordSize];
}  // namespace

static int socketIndex() {
  static const int index = SSL_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
  return index;
}

SslSocket::SslSocket(std::shared_ptr<const TlsContext> context, std::shared_ptr<TlsStats> stats)
    : context_(std::move(context)), stats_(std::move(stats)) {}

SslSocket::~SslSocket() {
  if (ssl_ != nullptr) SSL_free(ssl_);
}

SslSocket* SslSocket::of(const SSL* ssl) {
  return static_cast<SslSocket*>(SSL_get_ex_data(ssl, socketIndex()));
}

void SslSocket::noteVerifyError(int x509_error) {
  if (!verify_reason_.empty()) return;
  verify_reason_ = verifyReason(x509_error);
  verify_detail_ = X509_verify_cert_error_string(x509_error);
}

void SslSocket::noteSanMismatch() {
  verify_reason_ = "san_mismatch";
  std::string expected;
  for (const auto& matcher : context_->settings().san_matchers) {
    if (!expected.empty()) expected += ", ";
    expected += matcher.describe();
  }
  verify_detail_ = "peer certificate matches none of: " + expected;
}

void SslSocket::onConnected() {
  if (context_ == nullptr) {
    fail("no_certificate_yet", "no certificate or trust bundle loaded yet");
    return;
  }
  ssl_ = SSL_new(context_->sslCtx());
  SSL_set_ex_data(ssl_, socketIndex(), this);
  SSL_set_fd(ssl_, callbacks_->fd());
  const ContextSettings& settings = context_->settings();
  if (settings.server) {
    SSL_set_accept_state(ssl_);
    return;
  }
  SSL_set_connect_state(ssl_);
  if (!settings.sni.empty()) SSL_set_tlsext_host_name(ssl_, settings.sni.c_str());
  if (auto* sessions = context_->sessions()) {
    if (SSL_SESSION* session = sessions->take()) {
      SSL_set_session(ssl_, session);
      SSL_SESSION_free(session);
    }
  }
  // The ClientHello goes out now; the rest follows as the server answers.
  continueHandshake();
}

SslSocket::Step SslSocket::continueHandshake() {
  if (failed_) return Step::kFailed;
  if (handshake_done_) return Step::kDone;
  ERR_clear_error();
  int rc = SSL_do_handshake(ssl_);
  if (rc == 1) {
    onHandshakeDone();
    return Step::kDone;
  }
  int error = SSL_get_error(ssl_, rc);
  if (error == SSL_ERROR_WANT_READ || error == SSL_ERROR_WANT_WRITE) {
    handshake_wants_write_ = error == SSL_ERROR_WANT_WRITE;
    return Step::kInProgress;
  }
  std::string detail;
  std::string reason = classifyHandshakeError(error, detail);
  fail(std::move(reason), std::move(detail));
  return Step::kFailed;
}

std::string SslSocket::classifyHandshakeError(int ssl_error, std::string& detail) {
  unsigned long code = ERR_peek_error();
  std::string errors = drainOpenSslErrors();
  detail = errors;
  if (!verify_reason_.empty()) {
    detail = verify_detail_;
    return verify_reason_;
  }
  if (ssl_error == SSL_ERROR_SYSCALL || ssl_error == SSL_ERROR_ZERO_RETURN || code == 0) {
    detail = errno != 0 ? std::strerror(errno) : "peer closed the connection";
    return "connection_closed";
  }
  if (ERR_GET_LIB(code) != ERR_LIB_SSL) return "other";
  switch (ERR_GET_REASON(code)) {
    case SSL_R_PEER_DID_NOT_RETURN_A_CERTIFICATE:
      return "no_client_certificate";
    case SSL_R_CERTIFICATE_VERIFY_FAILED:
      return verifyReason(static_cast<int>(SSL_get_verify_result(ssl_)));
    case SSL_R_UNSUPPORTED_PROTOCOL:
    case SSL_R_TLSV1_ALERT_PROTOCOL_VERSION:
    case SSL_R_NO_PROTOCOLS_AVAILABLE:
    case SSL_R_WRONG_SSL_VERSION:
      return "protocol_version";
    case SSL_R_NO_SHARED_CIPHER:
    case SSL_R_NO_CIPHERS_AVAILABLE:
      return "no_shared_cipher";
    case SSL_R_WRONG_VERSION_NUMBER:
    case SSL_R_HTTP_REQUEST:
    case SSL_R_HTTPS_PROXY_REQUEST:
    case SSL_R_PACKET_LENGTH_TOO_LONG:
    case SSL_R_RECORD_LENGTH_MISMATCH:
      return "not_tls";
    default:
      break;
  }
  // The peer refused us (our certificate, or our offer) and said why in an alert.
  if (errors.find("alert") != std::string::npos) return "peer_alert";
  return "other";
}

void SslSocket::fail(std::string reason, std::string detail) {
  failed_ = true;
  failure_reason_ = "TLS handshake failed: " + reason + (detail.empty() ? "" : " (" + detail + ")");
  if (stats_) stats_->onFailure(reason);
  // Any peer can fail handshakes as fast as it can connect.
  static log::LogRateLimiter limiter(std::chrono::seconds(10));
  REMORA_LOG_RATE_LIMITED(limiter, debug, "%s", failure_reason_.c_str());
}

void SslSocket::onHandshakeTimeout() {
  if (handshake_done_ || failed_) return;
  fail("handshake_timeout", "not finished in time");
}

void SslSocket::onHandshakeDone() {
  handshake_done_ = true;
  handshake_wants_write_ = false;
  info_.version = SSL_get_version(ssl_);
  info_.cipher = SSL_get_cipher_name(ssl_);
  if (const char* name = SSL_get_servername(ssl_, TLSEXT_NAMETYPE_host_name)) {
    info_.server_name = name;
  }
  const unsigned char* alpn = nullptr;
  unsigned int alpn_length = 0;
  SSL_get0_alpn_selected(ssl_, &alpn, &alpn_length);
  if (alpn != nullptr) info_.alpn.assign(reinterpret_cast<const char*>(alpn), alpn_length);
  info_.session_resumed = SSL_session_reused(ssl_) == 1;
  if (X509* local = SSL_get_certificate(ssl_)) {
    for (auto& [type, value] : subjectAltNames(local)) {
      if (type != SanMatcher::Type::kUri) continue;
      info_.local_uri_san = std::move(value);
      break;
    }
  }
  if (X509* peer = SSL_get0_peer_certificate(ssl_)) {
    info_.peer_certificate_presented = true;
    info_.peer_certificate_sha256 = certificateSha256Hex(peer);
    info_.peer_subject = certificateSubject(peer);
    // The socket (and so ssl_) lives as long as info_.
    info_.peer_certificates_pem = [this](bool with_chain) {
      X509* leaf = SSL_get0_peer_certificate(ssl_);
      if (leaf == nullptr) return std::string();
      std::string pem = certificatePem(leaf);
      // A server's view of the sent chain leaves the leaf out, a client's includes it.
      STACK_OF(X509)* chain = with_chain ? SSL_get_peer_cert_chain(ssl_) : nullptr;
      for (int i = 0; chain != nullptr && i < sk_X509_num(chain); ++i) {
        X509* cert = sk_X509_value(chain, i);
        if (X509_cmp(cert, leaf) != 0) pem += certificatePem(cert);
      }
      return pem;
    };
    info_.peer_certificate_validated =
        context_->settings().verify_peer && SSL_get_verify_result(ssl_) == X509_V_OK;
    for (auto& [type, value] : subjectAltNames(peer)) {
      if (type == SanMatcher::Type::kUri) {
        if (info_.peer_principal.empty() && info_.peer_certificate_validated &&
            value.starts_with("spiffe://")) {
          info_.peer_principal = value;
        }
        info_.peer_uri_sans.push_back(std::move(value));
      } else if (type == SanMatcher::Type::kDns) {
        info_.peer_dns_sans.push_back(std::move(value));
      }
    }
  }
  if (stats_) stats_->onHandshake(info_.session_resumed);
  // Only a client is "connected" by its handshake; a server connection was already live.
  if (!context_->settings().server) callbacks_->raiseEvent(network::ConnectionEvent::kConnected);
}

bool SslSocket::hasPendingReadData() const {
  // SSL_has_pending also sees records read ahead but not decrypted yet.
  return ssl_ != nullptr && handshake_done_ && SSL_has_pending(ssl_) == 1;
}

network::IoResult SslSocket::doRead(buffer::Instance& buffer) {
  network::IoResult result;
  Step step = continueHandshake();
  if (step == Step::kFailed) {
    result.action = network::PostIoAction::kClose;
    return result;
  }
  if (step == Step::kInProgress) return result;
  char chunk[kRecordSize];
  while (!callbacks_->shouldStopReading()) {
    ERR_clear_error();
    int n = SSL_read(ssl_, chunk, sizeof(chunk));
    if (n > 0) {
      buffer.add(chunk, static_cast<size_t>(n));
      result.bytes_processed += n;
      continue;
    }
    int error = SSL_get_error(ssl_, n);
    if (error == SSL_ERROR_WANT_READ || error == SSL_ERROR_WANT_WRITE) break;
    if (error == SSL_ERROR_ZERO_RETURN) {
      result.end_stream_read = true;
      break;
    }
    // A reset, or bad records from the peer (including a TLS 1.3 server refusing our
    // certificate after our side of the handshake finished).
    std::string detail = drainOpenSslErrors();
    if (detail.empty() && errno != 0) detail = std::strerror(errno);
    failure_reason_ = "TLS read failed" + (detail.empty() ? "" : ": " + detail);
    result.action = network::PostIoAction::kClose;
    break;
  }
  return result;
}

network::IoResult SslSocket::doWrite(buffer::Instance& buffer, bool end_stream) {
  network::IoResult result;
  Step step = continueHandshake();
  if (step == Step::kFailed) {
    result.action = network::PostIoAction::kClose;
    return result;
  }
  if (step == Step::kInProgress) return result;
  while (buffer.length() > 0) {
    size_t length = pending_write_ > 0 ? pending_write_ : std::min(buffer.length(), kRecordSize);
    std::string_view front = buffer.frontSlice();
    const char* data = front.data();
    if (front.size() < length) {
      buffer.copyOut(0, length, t_write_scratch);
      data = t_write_scratch;
    }
    ERR_clear_error();
    int n = SSL_write(ssl_, data, static_cast<int>(length));
    if (n > 0) {
      pending_write_ = 0;
      buffer.drain(static_cast<size_t>(n));
      result.bytes_processed += n;
      continue;
    }
    int error = SSL_get_error(ssl_, n);
    if (error == SSL_ERROR_WANT_WRITE || error == SSL_ERROR_WANT_READ) {
      // OpenSSL wants the same write again (same bytes, same length).
      pending_write_ = length;
      return result;
    }
    std::string detail = drainOpenSslErrors();
    if (detail.empty() && errno != 0) detail = std::strerror(errno);
    failure_reason_ = "TLS write failed" + (detail.empty() ? "" : ": " + detail);
    result.action = network::PostIoAction::kClose;
    return result;
  }
  if (end_stream && !shutdown_sent_) {
    shutdown_sent_ = true;
    SSL_shutdown(ssl_);  // close_notify; the peer's is not awaited
    ::shutdown(callbacks_->fd(), SHUT_WR);
  }
  return result;
}

}  // namespace remora::tls
