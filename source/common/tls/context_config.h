#pragma once

// A TLS context's settings, validated from DownstreamTlsContext / UpstreamTlsContext. Says where
// the certificate and trust bundle come from (inline, a watched file, or a secret) but holds no
// key material itself: the socket factory resolves the sources and builds SSL_CTXs from them.

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "remora/extensions/transport_sockets/tls/v1/tls.pb.h"
#include "source/common/tls/san_matcher.h"
#include "source/interface/config/errors.h"

namespace remora::tls {

// Where some PEM comes from.
struct PemSource {
  enum class Kind { kNone, kInline, kFile, kSecret };
  Kind kind = Kind::kNone;
  // The PEM (kInline), the file path (kFile) or the secret name (kSecret).
  std::string value;
  // kSecret: where the secret comes from. The file holding it (its `sds_config.path`); else
  // the aggregated stream (`sds_config.ads`); else, with no sds_config at all, the proxy's own
  // workload identity (names kWorkloadCertificate and kTrustBundle only).
  std::string secret_path;
  bool secret_local = false;
  bool operator==(const PemSource&) const = default;
};

struct ContextSettings {
  bool server = false;
  // TLS1_2_VERSION / TLS1_3_VERSION.
  int min_version = 0;
  int max_version = 0;
  std::string cipher_list;  // TLS 1.2, OpenSSL syntax
  std::string groups;       // colon-separated
  std::vector<std::string> alpn;
  std::string sni;  // client only
  bool require_client_certificate = false;
  std::chrono::seconds session_timeout{7200};

  // The certificate: for a secret, `chain` names it and `key` is unused.
  bool has_certificate = false;
  PemSource chain;
  PemSource key;
  // Peer verification: off when no trust bundle is configured.
  bool verify_peer = false;
  PemSource trusted_ca;
  std::vector<SanMatcher> san_matchers;

  // Errors go under `path` (the transport socket's typed_config).
  static std::optional<ContextSettings> fromDownstream(
      const extensions::transport_sockets::tls::v1::DownstreamTlsContext& proto,
      const std::string& path, config::Errors& errors);
  static std::optional<ContextSettings> fromUpstream(
      const extensions::transport_sockets::tls::v1::UpstreamTlsContext& proto,
      const std::string& path, config::Errors& errors);
};

// The secrets the proxy's workload identity supplies (Istio's names): its certificate chain
// and key, and the mesh's trust bundle.
inline constexpr const char* kWorkloadCertificate = "default";
inline constexpr const char* kTrustBundle = "ROOTCA";

// The PEM a context is built from, once its sources are resolved.
struct ContextMaterial {
  std::string chain_pem;
  std::string key_pem;
  std::string trusted_ca_pem;
};

// A DataSource as a PemSource; errors under `path`.
PemSource pemSourceFromProto(const extensions::transport_sockets::tls::v1::DataSource& proto,
                             const std::string& path, config::Errors& errors);

}  // namespace remora::tls
