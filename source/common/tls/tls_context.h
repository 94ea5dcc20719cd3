#pragma once

// One immutable OpenSSL context (SSL_CTX) built from validated settings and resolved PEM. A
// socket factory swaps in a new one when a certificate or trust bundle changes; sockets keep
// the one they started with. Safe to share across threads (SSL_new only).

#include <openssl/ssl.h>

#include <array>
#include <ctime>
#include <memory>
#include <mutex>
#include <string>

#include "source/common/tls/context_config.h"

namespace remora::tls {

// Session-ticket keys of a server: kept across context rebuilds so that a certificate rotation
// does not end resumption for every client.
using TicketKeys = std::array<unsigned char, 80>;

// A client's last session (one per factory, like Envoy's default max_session_keys: 1), offered
// on the next connection to skip the full handshake. Shared by all workers.
class ClientSessionCache {
 public:
  ~ClientSessionCache();
  // Takes ownership of `session`, replacing the stored one.
  void store(SSL_SESSION* session);
  // A new reference to the stored session (SSL_SESSION_free it), or null.
  SSL_SESSION* take() const;

 private:
  mutable std::mutex mutex_;
  SSL_SESSION* session_ = nullptr;
};

class TlsContext {
 public:
  // Null with `error` set (naming what was wrong: bad PEM, key not matching the certificate,
  // unknown cipher...) when the context cannot be built.
  static std::shared_ptr<const TlsContext> create(const ContextSettings& settings,
                                                  const ContextMaterial& material,
                                                  const TicketKeys& ticket_keys,
                                                  std::shared_ptr<ClientSessionCache> sessions,
                                                  std::string& error);
  ~TlsContext();
  TlsContext(const TlsContext&) = delete;
  TlsContext& operator=(const TlsContext&) = delete;

  SSL_CTX* sslCtx() const { return ctx_; }
  const ContextSettings& settings() const { return settings_; }
  const ContextMaterial& material() const { return material_; }
  ClientSessionCache* sessions() const { return sessions_.get(); }
  // When the certificate this context presents expires (0: it presents none).
  std::time_t leafNotAfter() const { return leaf_not_after_; }

  // The context of `ssl` (set as the SSL_CTX's app data).
  static const TlsContext* of(const SSL* ssl);

 private:
  TlsContext(const ContextSettings& settings, const ContextMaterial& material)
      : settings_(settings), material_(material) {}
  bool build(const TicketKeys& ticket_keys, std::string& error);

  SSL_CTX* ctx_ = nullptr;
  ContextSettings settings_;
  ContextMaterial material_;
  std::string alpn_wire_;  // length-prefixed, as OpenSSL wants it
  std::shared_ptr<ClientSessionCache> sessions_;
  std::time_t leaf_not_after_ = 0;
};

// The OpenSSL error queue as one line (and cleared), e.g. "PEM_read_bio_X509: no start line".
std::string drainOpenSslErrors();

}  // namespace remora::tls
