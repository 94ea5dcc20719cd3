#include "source/pilot/kubernetes/tls_connection.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "source/common/crypto/openssl_util.h"

namespace remora::pilot::kubernetes {

using crypto::Error;

namespace {

constexpr std::chrono::milliseconds kCancelPollInterval(50);

bool isIpLiteral(const std::string& host) {
  unsigned char buffer[16];
  return inet_pton(AF_INET, host.c_str(), buffer) == 1 ||
         inet_pton(AF_INET6, host.c_str(), buffer) == 1;
}

}  // namespace

TlsConnection::TlsConnection(Clock::time_point deadline, const std::atomic<bool>& cancel)
    : deadline_(deadline), cancel_(cancel) {}

TlsConnection::~TlsConnection() {
  if (ssl_ != nullptr) {
    SSL_free(ssl_);
  }
  if (fd_ >= 0) {
    ::close(fd_);
  }
}

crypto::Status TlsConnection::connect(const ClusterConnection& target, SSL_CTX* ctx) {
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* addresses = nullptr;
  int rc =
      getaddrinfo(target.host.c_str(), std::to_string(target.port).c_str(), &hints, &addresses);
  if (rc != 0) {
    return Error{target.url() + ": cannot resolve: " + gai_strerror(rc)};
  }
  std::string last_error = "no address";
  for (addrinfo* a = addresses; a != nullptr && fd_ < 0; a = a->ai_next) {
    int fd = ::socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
      last_error = std::strerror(errno);
      continue;
    }
    if (::connect(fd, a->ai_addr, a->ai_addrlen) != 0 && errno != EINPROGRESS) {
      last_error = std::strerror(errno);
      ::close(fd);
      continue;
    }
    fd_ = fd;
    auto waited = waitFor(POLLOUT);
    int error = 0;
    socklen_t length = sizeof(error);
    if (!waited.ok()) {
      last_error = waited.error();
    } else if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length) != 0 || error != 0) {
      last_error = std::strerror(error != 0 ? error : errno);
    } else {
      break;
    }
    ::close(fd_);
    fd_ = -1;
  }
  freeaddrinfo(addresses);
  if (fd_ < 0) {
    return Error{target.url() + ": cannot connect: " + last_error};
  }
  ssl_ = SSL_new(ctx);
  if (ssl_ == nullptr) {
    return Error{crypto::withOpenSslReason("SSL_new failed")};
  }
  SSL_set_fd(ssl_, fd_);
  if (isIpLiteral(target.host)) {
    X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl_), target.host.c_str());
  } else {
    SSL_set_tlsext_host_name(ssl_, target.host.c_str());
    SSL_set1_host(ssl_, target.host.c_str());
  }
  while (true) {
    ERR_clear_error();
    int result = SSL_connect(ssl_);
    if (result == 1) {
      return {};
    }
    auto waited = waitForSsl(result, "TLS handshake");
    if (!waited.ok()) {
      long verify = SSL_get_verify_result(ssl_);
      if (verify != X509_V_OK) {
        return Error{target.url() +
                     ": server certificate not trusted: " + X509_verify_cert_error_string(verify)};
      }
      return Error{target.url() + ": " + waited.error()};
    }
  }
}

crypto::Status TlsConnection::writeAll(std::string_view data) {
  while (!data.empty()) {
    ERR_clear_error();
    int n = SSL_write(ssl_, data.data(), static_cast<int>(data.size()));
    if (n > 0) {
      data.remove_prefix(static_cast<size_t>(n));
      continue;
    }
    if (auto waited = waitForSsl(n, "write"); !waited.ok()) {
      return waited;
    }
  }
  return {};
}

crypto::Result<size_t> TlsConnection::readSome(char* buffer, size_t size) {
  while (true) {
    ERR_clear_error();
    int n = SSL_read(ssl_, buffer, static_cast<int>(size));
    if (n > 0) {
      return static_cast<size_t>(n);
    }
    int error = SSL_get_error(ssl_, n);
    if (error == SSL_ERROR_ZERO_RETURN) {
      return size_t{0};
    }
    if (error == SSL_ERROR_SYSCALL && ERR_peek_error() == 0) {
      // The peer closed without close_notify (or reset): the caller decides whether the
      // body was complete.
      return size_t{0};
    }
    if (auto waited = waitForSsl(n, "read"); !waited.ok()) {
      return Error{waited.error()};
    }
  }
}

crypto::Status TlsConnection::waitForSsl(int result, const char* what) {
  int error = SSL_get_error(ssl_, result);
  if (error == SSL_ERROR_WANT_READ) {
    return waitFor(POLLIN);
  }
  if (error == SSL_ERROR_WANT_WRITE) {
    return waitFor(POLLOUT);
  }
  if (error == SSL_ERROR_SYSCALL && ERR_peek_error() == 0) {
    return Error{std::string(what) + ": connection closed" +
                 (errno != 0 ? std::string(": ") + std::strerror(errno) : "")};
  }
  return Error{crypto::withOpenSslReason(std::string(what) + " failed")};
}

crypto::Status TlsConnection::waitFor(short events) {
  while (true) {
    if (cancel_.load()) {
      return Error{"cancelled"};
    }
    auto now = Clock::now();
    if (now >= deadline_) {
      return Error{"timed out"};
    }
    auto slice = std::min<Clock::duration>(deadline_ - now, kCancelPollInterval);
    pollfd p{fd_, events, 0};
    int n = ::poll(
        &p, 1,
        static_cast<int>(std::chrono::duration_cast<std::chrono::milliseconds>(slice).count()) + 1);
    if (n > 0) {
      return {};
    }
    if (n < 0 && errno != EINTR) {
      return Error{std::string("poll: ") + std::strerror(errno)};
    }
  }
}

}  // namespace remora::pilot::kubernetes
