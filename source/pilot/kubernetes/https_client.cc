#include "source/pilot/kubernetes/https_client.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "source/common/crypto/key_pair.h"
#include "source/common/crypto/openssl_util.h"
#include "source/pilot/kubernetes/chunked_decoder.h"

namespace remora::pilot::kubernetes {

using crypto::Error;
using Clock = std::chrono::steady_clock;

namespace {

constexpr std::chrono::milliseconds kCancelPollInterval(50);
constexpr size_t kMaxHeaderBytes = 64 * 1024;

bool isIpLiteral(const std::string& host) {
  unsigned char buffer[16];
  return inet_pton(AF_INET, host.c_str(), buffer) == 1 ||
         inet_pton(AF_INET6, host.c_str(), buffer) == 1;
}

// One TLS connection; closes its socket and frees its SSL on destruction.
class TlsConnection {
 public:
  TlsConnection(Clock::time_point deadline, const std::atomic<bool>& cancel)
      : deadline_(deadline), cancel_(cancel) {}
  ~TlsConnection() {
    if (ssl_ != nullptr) {
      SSL_free(ssl_);
    }
    if (fd_ >= 0) {
      ::close(fd_);
    }
  }

  crypto::Status connect(const ClusterConnection& target, SSL_CTX* ctx) {
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
          return Error{target.url() + ": server certificate not trusted: " +
                       X509_verify_cert_error_string(verify)};
        }
        return Error{target.url() + ": " + waited.error()};
      }
    }
  }

  crypto::Status writeAll(std::string_view data) {
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

  // Some bytes into `buffer` (n > 0), 0 at a clean end of stream, or an error.
  crypto::Result<size_t> readSome(char* buffer, size_t size) {
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

 private:
  crypto::Status waitForSsl(int result, const char* what) {
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

  // Polls in short slices so a cancel request is seen promptly.
  crypto::Status waitFor(short events) {
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
          static_cast<int>(std::chrono::duration_cast<std::chrono::milliseconds>(slice).count()) +
              1);
      if (n > 0) {
        return {};
      }
      if (n < 0 && errno != EINTR) {
        return Error{std::string("poll: ") + std::strerror(errno)};
      }
    }
  }

  const Clock::time_point deadline_;
  const std::atomic<bool>& cancel_;
  int fd_ = -1;
  SSL* ssl_ = nullptr;
};

std::string lowercase(std::string text) {
  for (char& c : text) {
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  return text;
}

}  // namespace

crypto::Result<std::unique_ptr<HttpsClient>> HttpsClient::create(
    const ClusterConnection& connection, BearerToken* token) {
  SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
  if (ctx == nullptr) {
    return Error{crypto::withOpenSslReason("SSL_CTX_new failed")};
  }
  std::unique_ptr<HttpsClient> client(new HttpsClient(connection, token, ctx));
  SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
  SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
  auto cas = crypto::readCertificatesPem(connection.ca_pem, "cluster CA");
  if (!cas.ok()) {
    return Error{cas.error()};
  }
  X509_STORE* store = SSL_CTX_get_cert_store(ctx);
  for (auto& ca : cas.value()) {
    X509_STORE_add_cert(store, ca.get());
  }
  if (!connection.client_cert_pem.empty()) {
    auto chain = crypto::readCertificatesPem(connection.client_cert_pem, "client certificate");
    if (!chain.ok()) {
      return Error{chain.error()};
    }
    if (SSL_CTX_use_certificate(ctx, chain.value()[0].get()) != 1) {
      return Error{crypto::withOpenSslReason("client certificate unusable")};
    }
    for (size_t i = 1; i < chain.value().size(); ++i) {
      SSL_CTX_add1_chain_cert(ctx, chain.value()[i].get());
    }
    auto key = crypto::readAnyPrivateKeyPem(connection.client_key_pem);
    if (!key.ok()) {
      return Error{"client key: " + key.error()};
    }
    if (SSL_CTX_use_PrivateKey(ctx, key.value().get()) != 1 ||
        SSL_CTX_check_private_key(ctx) != 1) {
      return Error{crypto::withOpenSslReason("client key does not match the client certificate")};
    }
  }
  return client;
}

HttpsClient::HttpsClient(ClusterConnection connection, BearerToken* token, SSL_CTX* ctx)
    : connection_(std::move(connection)), token_(token), ctx_(ctx) {}

HttpsClient::~HttpsClient() { SSL_CTX_free(ctx_); }

crypto::Result<int> HttpsClient::get(const std::string& path, std::chrono::milliseconds timeout,
                                     const std::atomic<bool>& cancel, const BodyCallback& on_body) {
  TlsConnection connection(Clock::now() + timeout, cancel);
  if (auto status = connection.connect(connection_, ctx_); !status.ok()) {
    return Error{status.error()};
  }
  std::string host_header = connection_.host.find(':') != std::string::npos
                                ? "[" + connection_.host + "]"
                                : connection_.host;
  std::string request = "GET " + path + " HTTP/1.1\r\nHost: " + host_header + ":" +
                        std::to_string(connection_.port) +
                        "\r\nAccept: application/json\r\nUser-Agent: remora-pilot\r\n"
                        "Connection: close\r\n";
  if (std::string token = token_ ? token_->current() : ""; !token.empty()) {
    request += "Authorization: Bearer " + token + "\r\n";
  }
  request += "\r\n";
  if (auto status = connection.writeAll(request); !status.ok()) {
    return Error{connection_.url() + ": " + status.error()};
  }

  // The head, then the body by whichever framing the head announced.
  std::string head;
  char buffer[16384];
  size_t header_end = std::string::npos;
  while ((header_end = head.find("\r\n\r\n")) == std::string::npos) {
    auto n = connection.readSome(buffer, sizeof(buffer));
    if (!n.ok()) {
      return Error{connection_.url() + ": " + n.error()};
    }
    if (n.value() == 0) {
      return Error{connection_.url() + ": connection closed before the response head"};
    }
    head.append(buffer, n.value());
    if (head.size() > kMaxHeaderBytes) {
      return Error{connection_.url() + ": response head too large"};
    }
  }
  std::string rest = head.substr(header_end + 4);
  head.resize(header_end);
  int status = 0;
  if (head.compare(0, 9, "HTTP/1.1 ") != 0 && head.compare(0, 9, "HTTP/1.0 ") != 0) {
    return Error{connection_.url() + ": not an HTTP/1.x response"};
  }
  status = std::atoi(head.c_str() + 9);
  if (status < 100 || status > 599) {
    return Error{connection_.url() + ": bad status line"};
  }
  bool chunked = false;
  long long content_length = -1;
  for (size_t line = head.find("\r\n"); line != std::string::npos;) {
    size_t next = head.find("\r\n", line + 2);
    std::string field =
        head.substr(line + 2, next == std::string::npos ? std::string::npos : next - line - 2);
    line = next;
    auto colon = field.find(':');
    if (colon == std::string::npos) {
      continue;
    }
    std::string name = lowercase(field.substr(0, colon));
    std::string value = field.substr(colon + 1);
    value.erase(0, value.find_first_not_of(" \t"));
    if (name == "transfer-encoding" && lowercase(value).find("chunked") != std::string::npos) {
      chunked = true;
    } else if (name == "content-length") {
      content_length = std::atoll(value.c_str());
    }
  }
  if (status == 401 && token_ != nullptr) {
    token_->invalidate();
  }

  ChunkedDecoder decoder;
  long long received = 0;
  bool keep_reading = true;
  auto deliver = [&](std::string_view bytes) -> crypto::Status {
    if (chunked) {
      return decoder.feed(bytes, [&](std::string_view data) {
        if (keep_reading) {
          keep_reading = on_body(data);
        }
      });
    }
    if (content_length >= 0) {
      bytes = bytes.substr(0, static_cast<size_t>(content_length - received));
    }
    received += static_cast<long long>(bytes.size());
    if (!bytes.empty()) {
      keep_reading = on_body(bytes);
    }
    return {};
  };
  auto complete = [&] {
    return chunked ? decoder.done() : content_length >= 0 && received >= content_length;
  };
  if (auto fed = deliver(rest); !fed.ok()) {
    return Error{connection_.url() + ": " + fed.error()};
  }
  while (keep_reading && !complete()) {
    auto n = connection.readSome(buffer, sizeof(buffer));
    if (!n.ok()) {
      return Error{connection_.url() + ": " + n.error()};
    }
    if (n.value() == 0) {
      if (!chunked && content_length < 0) {
        break;  // the body was delimited by the end of the connection
      }
      return Error{connection_.url() + ": connection closed before the end of the body"};
    }
    if (auto fed = deliver(std::string_view(buffer, n.value())); !fed.ok()) {
      return Error{connection_.url() + ": " + fed.error()};
    }
  }
  return status;
}

crypto::Result<int> HttpsClient::get(const std::string& path, std::chrono::milliseconds timeout,
                                     const std::atomic<bool>& cancel, std::string& body,
                                     size_t max_body) {
  body.clear();
  bool too_large = false;
  auto status = get(path, timeout, cancel, [&](std::string_view data) {
    if (body.size() + data.size() > max_body) {
      too_large = true;
      return false;
    }
    body.append(data);
    return true;
  });
  if (status.ok() && too_large) {
    return Error{connection_.url() + path + ": response larger than " + std::to_string(max_body) +
                 " bytes"};
  }
  return status;
}

}  // namespace remora::pilot::kubernetes
