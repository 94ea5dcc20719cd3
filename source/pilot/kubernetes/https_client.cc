#include "source/pilot/kubernetes/https_client.h"

#include <openssl/err.h>
#include <openssl/pem.h>

#include <cctype>

#include "source/common/crypto/key_pair.h"
#include "source/common/crypto/openssl_util.h"
#include "source/pilot/kubernetes/chunked_decoder.h"
#include "source/pilot/kubernetes/tls_connection.h"

namespace remora::pilot::kubernetes {

using crypto::Error;
using Clock = std::chrono::steady_clock;

namespace {

constexpr size_t kMaxHeaderBytes = 64 * 1024;

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
  return exchange("GET", path, "", timeout, cancel, on_body);
}

crypto::Result<int> HttpsClient::exchange(const std::string& method, const std::string& path,
                                          const std::string& request_body,
                                          std::chrono::milliseconds timeout,
                                          const std::atomic<bool>& cancel,
                                          const BodyCallback& on_body) {
  TlsConnection connection(Clock::now() + timeout, cancel);
  if (auto status = connection.connect(connection_, ctx_); !status.ok()) {
    return Error{status.error()};
  }
  std::string host_header = connection_.host.find(':') != std::string::npos
                                ? "[" + connection_.host + "]"
                                : connection_.host;
  std::string request = method + " " + path + " HTTP/1.1\r\nHost: " + host_header + ":" +
                        std::to_string(connection_.port) +
                        "\r\nAccept: application/json\r\nUser-Agent: remora-pilot\r\n"
                        "Connection: close\r\n";
  if (std::string token = token_ ? token_->current() : ""; !token.empty()) {
    request += "Authorization: Bearer " + token + "\r\n";
  }
  if (!request_body.empty()) {
    request +=
        "Content-Type: application/json\r\nContent-Length: " + std::to_string(request_body.size()) +
        "\r\n";
  }
  request += "\r\n" + request_body;
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
  if (status < 200 || status > 299) {
    // Only the status matters to the caller, and the connection is not reused: a failed
    // watch's Status body must never be read as events.
    return status;
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
  return collect("GET", path, "", timeout, cancel, body, max_body);
}

crypto::Result<int> HttpsClient::send(const std::string& method, const std::string& path,
                                      const std::string& request_body,
                                      std::chrono::milliseconds timeout,
                                      const std::atomic<bool>& cancel, std::string& response_body,
                                      size_t max_body) {
  return collect(method, path, request_body, timeout, cancel, response_body, max_body);
}

crypto::Result<int> HttpsClient::collect(const std::string& method, const std::string& path,
                                         const std::string& request_body,
                                         std::chrono::milliseconds timeout,
                                         const std::atomic<bool>& cancel, std::string& body,
                                         size_t max_body) {
  body.clear();
  bool too_large = false;
  auto status = exchange(method, path, request_body, timeout, cancel, [&](std::string_view data) {
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
