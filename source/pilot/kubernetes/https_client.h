#pragma once

// A minimal HTTP/1.1 client over TLS for talking to the Kubernetes API server from
// pilot's source threads: one request per connection ("Connection: close"), blocking the
// calling thread, with the response body handed over piece by piece as it arrives (a watch
// body never ends on its own). The server's certificate must chain to the cluster CA and name
// the host (DNS name or IP address); a client certificate and a bearer token are sent when
// configured.

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include <openssl/ssl.h>

#include "source/common/crypto/result.h"
#include "source/pilot/kubernetes/bearer_token.h"
#include "source/pilot/kubernetes/connection_config.h"

namespace remora::pilot::kubernetes {

class HttpsClient {
 public:
  // Builds the TLS context once. `token` (may be null: no Authorization header) must outlive
  // the client. Errors: an unusable CA bundle, client certificate or key, naming which.
  static crypto::Result<std::unique_ptr<HttpsClient>> create(const ClusterConnection& connection,
                                                             BearerToken* token);
  ~HttpsClient();

  // Called with each piece of the (de-chunked) body; return false to stop reading and close.
  using BodyCallback = std::function<bool(std::string_view)>;

  // GET `path` (with its query). Returns the HTTP status: for 2xx once the whole body was
  // delivered to `on_body` (or on_body returned false); for any other status at once, the body
  // unread (on_body is not called). Errors: resolution, connection, TLS verification,
  // a malformed response, `timeout` (for the whole exchange) passed, `cancel` set (polled at
  // least every 50 ms), or the connection closing before the body's end. A status of 401 also
  // invalidates the bearer token so the next request re-reads its file.
  // Thread-safe: concurrent calls use separate connections.
  crypto::Result<int> get(const std::string& path, std::chrono::milliseconds timeout,
                          const std::atomic<bool>& cancel, const BodyCallback& on_body);

  // get() collecting the body, refused beyond `max_body` bytes.
  crypto::Result<int> get(const std::string& path, std::chrono::milliseconds timeout,
                          const std::atomic<bool>& cancel, std::string& body,
                          size_t max_body = 256 * 1024 * 1024);

  // A write: `method` (POST, PUT, DELETE) of `path` with the JSON `request_body` (sent with
  // Content-Type application/json; none when empty), the response body collected into
  // `response_body` for a 2xx status (left empty for any other). The status is returned as is,
  // so callers see 409 Conflict (a stale resourceVersion on update, or an object that already
  // exists on create) and 404 as values, not errors. Same errors, 401 handling and thread
  // safety as get().
  crypto::Result<int> send(const std::string& method, const std::string& path,
                           const std::string& request_body, std::chrono::milliseconds timeout,
                           const std::atomic<bool>& cancel, std::string& response_body,
                           size_t max_body = 16 * 1024 * 1024);

 private:
  HttpsClient(ClusterConnection connection, BearerToken* token, SSL_CTX* ctx);
  crypto::Result<int> exchange(const std::string& method, const std::string& path,
                               const std::string& request_body, std::chrono::milliseconds timeout,
                               const std::atomic<bool>& cancel, const BodyCallback& on_body);
  crypto::Result<int> collect(const std::string& method, const std::string& path,
                              const std::string& request_body, std::chrono::milliseconds timeout,
                              const std::atomic<bool>& cancel, std::string& body, size_t max_body);

  const ClusterConnection connection_;
  BearerToken* const token_;
  SSL_CTX* const ctx_;
};

}  // namespace remora::pilot::kubernetes
