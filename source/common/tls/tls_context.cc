#include "source/common/tls/tls_context.h"

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include <cstring>

#include "source/common/tls/ssl_socket.h"

namespace remora::tls {
namespace {

struct BioDeleter {
  void operator()(BIO* bio) const { BIO_free(bio); }
};
struct X509Deleter {
  void operator()(X509* cert) const { X509_free(cert); }
};
struct KeyDeleter {
  void operator()(EVP_PKEY* key) const { EVP_PKEY_free(key); }
};
using BioPtr = std::unique_ptr<BIO, BioDeleter>;
using X509Ptr = std::unique_ptr<X509, X509Deleter>;

BioPtr memoryBio(const std::string& pem) {
  return BioPtr(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
}

// Every certificate of a PEM bundle, in order.
std::vector<X509Ptr> readCertificates(const std::string& pem) {
  std::vector<X509Ptr> out;
  BioPtr bio = memoryBio(pem);
  while (X509* cert = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr)) {
    out.emplace_back(cert);
  }
  ERR_clear_error();  // the read that ended the loop
  return out;
}

int verifyCallback(int preverify_ok, X509_STORE_CTX* store) {
  auto* ssl =
      static_cast<SSL*>(X509_STORE_CTX_get_ex_data(store, SSL_get_ex_data_X509_STORE_CTX_idx()));
  auto* socket = SslSocket::of(ssl);
  if (!preverify_ok) {
    if (socket != nullptr) socket->noteVerifyError(X509_STORE_CTX_get_error(store));
    return 0;
  }
  // SANs are checked on the leaf only, once its chain verified.
  if (X509_STORE_CTX_get_error_depth(store) != 0) return 1;
  const TlsContext* context = TlsContext::of(ssl);
  if (context == nullptr) return 1;
  if (!matchesAnySan(X509_STORE_CTX_get_current_cert(store), context->settings().san_matchers)) {
    if (socket != nullptr) socket->noteSanMismatch();
    X509_STORE_CTX_set_error(store, X509_V_ERR_APPLICATION_VERIFICATION);
    return 0;
  }
  return 1;
}

int selectAlpn(SSL* ssl, const unsigned char** out, unsigned char* out_length,
               const unsigned char* in, unsigned int in_length, void*) {
  const TlsContext* context = TlsContext::of(ssl);
  // Server preference: the first of ours the client offers.
  for (const auto& mine : context->settings().alpn) {
    for (unsigned int i = 0; i < in_length;) {
      unsigned int length = in[i];
      if (i + 1 + length > in_length) break;
      if (length == mine.size() && std::memcmp(in + i + 1, mine.data(), length) == 0) {
        *out = in + i + 1;
        *out_length = static_cast<unsigned char>(length);
        return SSL_TLSEXT_ERR_OK;
      }
      i += 1 + length;
    }
  }
  // No overlap: carry on without ALPN (the codec detects the protocol) rather than refuse.
  return SSL_TLSEXT_ERR_NOACK;
}

int onNewClientSession(SSL* ssl, SSL_SESSION* session) {
  const TlsContext* context = TlsContext::of(ssl);
  if (context == nullptr || context->sessions() == nullptr) return 0;
  context->sessions()->store(session);
  return 1;  // the cache owns it now
}

}  // namespace

ClientSessionCache::~ClientSessionCache() {
  if (session_ != nullptr) SSL_SESSION_free(session_);
}

void ClientSessionCache::store(SSL_SESSION* session) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (session_ != nullptr) SSL_SESSION_free(session_);
  session_ = session;
}

SSL_SESSION* ClientSessionCache::take() const {
  std::lock_guard<std::mutex> lock(mutex_);
  if (session_ == nullptr || !SSL_SESSION_is_resumable(session_)) return nullptr;
  SSL_SESSION_up_ref(session_);
  return session_;
}

std::string drainOpenSslErrors() {
  std::string out;
  while (unsigned long code = ERR_get_error()) {
    char text[256];
    ERR_error_string_n(code, text, sizeof(text));
    if (!out.empty()) out += "; ";
    out += text;
  }
  return out;
}

const TlsContext* TlsContext::of(const SSL* ssl) {
  return static_cast<const TlsContext*>(SSL_CTX_get_app_data(SSL_get_SSL_CTX(ssl)));
}

std::shared_ptr<const TlsContext> TlsContext::create(const ContextSettings& settings,
                                                     const ContextMaterial& material,
                                                     const TicketKeys& ticket_keys,
                                                     std::shared_ptr<ClientSessionCache> sessions,
                                                     std::string& error) {
  std::shared_ptr<TlsContext> context(new TlsContext(settings, material));
  context->sessions_ = std::move(sessions);
  ERR_clear_error();
  if (!context->build(ticket_keys, error)) return nullptr;
  return context;
}

TlsContext::~TlsContext() {
  if (ctx_ != nullptr) SSL_CTX_free(ctx_);
}

bool TlsContext::build(const TicketKeys& ticket_keys, std::string& error) {
  ctx_ = SSL_CTX_new(settings_.server ? TLS_server_method() : TLS_client_method());
  if (ctx_ == nullptr) {
    error = "cannot create an SSL context: " + drainOpenSslErrors();
    return false;
  }
  SSL_CTX_set_app_data(ctx_, this);
  SSL_CTX_set_min_proto_version(ctx_, settings_.min_version);
  SSL_CTX_set_max_proto_version(ctx_, settings_.max_version);
  // No renegotiation (a DoS vector and useless here), no compression (CRIME); a peer that
  // closes without close_notify ends the stream rather than failing it (HTTP frames itself);
  // idle connections give their 34 KB of record buffers back.
  SSL_CTX_set_options(ctx_, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION |
                                SSL_OP_IGNORE_UNEXPECTED_EOF |
                                (settings_.server ? SSL_OP_CIPHER_SERVER_PREFERENCE : 0));
  // NO_AUTO_CHAIN: the chain sent is the configured certificate_chain (leaf and
  // intermediates), as in Envoy; otherwise OpenSSL rebuilds it from the trust store on every
  // handshake, a large share of a full handshake's CPU.
  SSL_CTX_set_mode(ctx_, SSL_MODE_RELEASE_BUFFERS | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
                             SSL_MODE_NO_AUTO_CHAIN);
  // Read whatever the socket has in one read() instead of a header read and a body read per
  // record: half the read syscalls on small exchanges.
  SSL_CTX_set_read_ahead(ctx_, 1);
  // TLS 1.3 servers send 2 tickets by default; a mesh peer keeps one session per
  // destination, so the second would be encryption and bytes for nothing on every handshake.
  if (settings_.server) SSL_CTX_set_num_tickets(ctx_, 1);
  if (SSL_CTX_set_cipher_list(ctx_, settings_.cipher_list.c_str()) != 1) {
    error = "cipher_suites: no usable cipher in \"" + settings_.cipher_list + "\"";
    return false;
  }
  if (SSL_CTX_set1_groups_list(ctx_, settings_.groups.c_str()) != 1) {
    error = "ecdh_curves: unknown group in \"" + settings_.groups + "\"";
    return false;
  }

  if (settings_.has_certificate) {
    auto chain = readCertificates(material_.chain_pem);
    if (chain.empty()) {
      error = "certificate_chain: no PEM certificate found";
      return false;
    }
    BioPtr key_bio = memoryBio(material_.key_pem);
    std::unique_ptr<EVP_PKEY, KeyDeleter> key(
        PEM_read_bio_PrivateKey(key_bio.get(), nullptr, nullptr, nullptr));
    if (!key) {
      error = "private_key: no PEM private key found";
      return false;
    }
    struct tm expiry {};
    if (ASN1_TIME_to_tm(X509_get0_notAfter(chain[0].get()), &expiry) == 1) {
      leaf_not_after_ = timegm(&expiry);
    }
    if (SSL_CTX_use_certificate(ctx_, chain[0].get()) != 1) {
      error = "certificate_chain: unusable certificate: " + drainOpenSslErrors();
      return false;
    }
    for (size_t i = 1; i < chain.size(); ++i) {
      SSL_CTX_add1_chain_cert(ctx_, chain[i].get());
    }
    if (SSL_CTX_use_PrivateKey(ctx_, key.get()) != 1 || SSL_CTX_check_private_key(ctx_) != 1) {
      ERR_clear_error();
      error = "private_key: does not match the certificate";
      return false;
    }
  }

  if (settings_.verify_peer) {
    auto roots = readCertificates(material_.trusted_ca_pem);
    if (roots.empty()) {
      error = "trusted_ca: no PEM certificate found";
      return false;
    }
    X509_STORE* store = SSL_CTX_get_cert_store(ctx_);
    for (auto& root : roots) X509_STORE_add_cert(store, root.get());
    int mode = SSL_VERIFY_PEER;
    if (settings_.server && settings_.require_client_certificate) {
      mode |= SSL_VERIFY_FAIL_IF_NO_PEER_CERT;
    }
    SSL_CTX_set_verify(ctx_, mode, verifyCallback);
    if (settings_.server) {
      // Without a client CA list many clients send no certificate at all.
      STACK_OF(X509_NAME)* names = sk_X509_NAME_new_null();
      for (auto& root : roots) {
        sk_X509_NAME_push(names, X509_NAME_dup(X509_get_subject_name(root.get())));
      }
      SSL_CTX_set_client_CA_list(ctx_, names);
    }
  } else {
    SSL_CTX_set_verify(ctx_, SSL_VERIFY_NONE, nullptr);
  }

  if (!settings_.alpn.empty()) {
    for (const auto& protocol : settings_.alpn) {
      alpn_wire_.push_back(static_cast<char>(protocol.size()));
      alpn_wire_ += protocol;
    }
    if (settings_.server) {
      SSL_CTX_set_alpn_select_cb(ctx_, selectAlpn, nullptr);
    } else if (SSL_CTX_set_alpn_protos(ctx_,
                                       reinterpret_cast<const unsigned char*>(alpn_wire_.data()),
                                       static_cast<unsigned>(alpn_wire_.size())) != 0) {
      error = "alpn_protocols: rejected by OpenSSL";
      return false;
    }
  }

  if (settings_.server) {
    // Stateless resumption only (tickets, TLS 1.2 and 1.3): no per-session server memory.
    SSL_CTX_set_session_cache_mode(ctx_, SSL_SESS_CACHE_OFF);
    SSL_CTX_set_tlsext_ticket_keys(ctx_, const_cast<unsigned char*>(ticket_keys.data()),
                                   ticket_keys.size());
    SSL_CTX_set_timeout(ctx_, static_cast<long>(settings_.session_timeout.count()));
    static const unsigned char kSessionContext[] = "remora";
    SSL_CTX_set_session_id_context(ctx_, kSessionContext, sizeof(kSessionContext) - 1);
  } else {
    SSL_CTX_set_session_cache_mode(ctx_, SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
    SSL_CTX_sess_set_new_cb(ctx_, onNewClientSession);
  }
  return true;
}

}  // namespace remora::tls
