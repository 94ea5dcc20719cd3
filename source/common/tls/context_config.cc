#include "source/common/tls/context_config.h"

#include <openssl/ssl.h>

namespace remora::tls {
namespace tlsv1 = extensions::transport_sockets::tls::v1;
namespace {

// Forward secrecy and AEAD only: what a mesh needs and what scanners accept.
constexpr const char* kDefaultCiphers =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";
constexpr const char* kDefaultGroups = "X25519:P-256:P-384";

int versionOf(tlsv1::TlsParameters::TlsProtocol protocol, int automatic) {
  switch (protocol) {
    case tlsv1::TlsParameters::TLSv1_2:
      return TLS1_2_VERSION;
    case tlsv1::TlsParameters::TLSv1_3:
      return TLS1_3_VERSION;
    default:
      return automatic;
  }
}

std::string joined(const google::protobuf::RepeatedPtrField<std::string>& items) {
  std::string out;
  for (const auto& item : items) {
    if (!out.empty()) out += ":";
    out += item;
  }
  return out;
}

PemSource secretSource(const tlsv1::SdsSecretConfig& sds, const std::string& path,
                       config::Errors& errors) {
  PemSource source;
  source.kind = PemSource::Kind::kSecret;
  source.value = sds.name();
  if (sds.name().empty()) errors.add(path + ".name", "must not be empty");
  if (!sds.sds_config().path().empty()) {
    source.secret_path = sds.sds_config().path();
  } else if (sds.has_sds_config() && !sds.sds_config().has_ads()) {
    errors.add(path + ".sds_config", "needs ads: {} or path");
  } else if (!sds.has_sds_config()) {
    source.secret_local = true;
    if (sds.name() != kWorkloadCertificate && sds.name() != kTrustBundle) {
      errors.add(path + ".name",
                 "without sds_config only \"" + std::string(kWorkloadCertificate) + "\" and \"" +
                     kTrustBundle +
                     "\" (the proxy's workload identity) are known; name a source in "
                     "sds_config for other secrets");
    }
  }
  return source;
}

bool parseCommon(const tlsv1::CommonTlsContext& proto, const std::string& path,
                 config::Errors& errors, ContextSettings& out) {
  size_t before = errors.lines().size();
  const auto& params = proto.tls_params();
  out.min_version = versionOf(params.tls_minimum_protocol_version(), TLS1_2_VERSION);
  out.max_version = versionOf(params.tls_maximum_protocol_version(), TLS1_3_VERSION);
  if (out.min_version > out.max_version) {
    errors.add(path + ".tls_params",
               "tls_minimum_protocol_version is above tls_maximum_protocol_version");
  }
  out.cipher_list =
      params.cipher_suites().empty() ? kDefaultCiphers : joined(params.cipher_suites());
  out.groups = params.ecdh_curves().empty() ? kDefaultGroups : joined(params.ecdh_curves());

  int certificates =
      proto.tls_certificates_size() + proto.tls_certificate_sds_secret_configs_size();
  if (certificates > 1) {
    errors.add(path,
               "at most one certificate (tls_certificates or "
               "tls_certificate_sds_secret_configs) is supported");
  } else if (proto.tls_certificates_size() == 1) {
    const auto& certificate = proto.tls_certificates(0);
    out.has_certificate = true;
    out.chain = pemSourceFromProto(certificate.certificate_chain(),
                                   path + ".tls_certificates[0].certificate_chain", errors);
    out.key = pemSourceFromProto(certificate.private_key(),
                                 path + ".tls_certificates[0].private_key", errors);
  } else if (proto.tls_certificate_sds_secret_configs_size() == 1) {
    out.has_certificate = true;
    out.chain = secretSource(proto.tls_certificate_sds_secret_configs(0),
                             path + ".tls_certificate_sds_secret_configs[0]", errors);
  }

  const tlsv1::CertificateValidationContext* validation = nullptr;
  switch (proto.validation_context_type_case()) {
    case tlsv1::CommonTlsContext::kValidationContext:
      validation = &proto.validation_context();
      out.trusted_ca = pemSourceFromProto(validation->trusted_ca(),
                                          path + ".validation_context.trusted_ca", errors);
      break;
    case tlsv1::CommonTlsContext::kValidationContextSdsSecretConfig:
      out.trusted_ca = secretSource(proto.validation_context_sds_secret_config(),
                                    path + ".validation_context_sds_secret_config", errors);
      break;
    case tlsv1::CommonTlsContext::kCombinedValidationContext: {
      const auto& combined = proto.combined_validation_context();
      validation = &combined.default_validation_context();
      if (validation->has_trusted_ca()) {
        errors.add(path + ".combined_validation_context.default_validation_context.trusted_ca",
                   "comes from validation_context_sds_secret_config in a combined context");
      }
      out.trusted_ca = secretSource(
          combined.validation_context_sds_secret_config(),
          path + ".combined_validation_context.validation_context_sds_secret_config", errors);
      break;
    }
    default:
      break;
  }
  if (validation != nullptr) {
    std::string matchers_path = path +
                                (proto.has_combined_validation_context()
                                     ? ".combined_validation_context.default_validation_context"
                                     : ".validation_context") +
                                ".match_typed_subject_alt_names";
    for (int i = 0; i < validation->match_typed_subject_alt_names_size(); ++i) {
      SanMatcher matcher;
      if (SanMatcher::fromProto(validation->match_typed_subject_alt_names(i),
                                matchers_path + "[" + std::to_string(i) + "]", errors, matcher)) {
        out.san_matchers.push_back(std::move(matcher));
      }
    }
  }
  out.verify_peer = out.trusted_ca.kind != PemSource::Kind::kNone;
  if (!out.san_matchers.empty() && !out.verify_peer) {
    errors.add(path, "match_typed_subject_alt_names needs a trusted_ca to verify against");
  }
  for (int i = 0; i < proto.alpn_protocols_size(); ++i) {
    const std::string& protocol = proto.alpn_protocols(i);
    if (protocol.empty() || protocol.size() > 255) {
      errors.add(path + ".alpn_protocols[" + std::to_string(i) + "]",
                 "must be 1 to 255 bytes long");
    }
    out.alpn.push_back(protocol);
  }
  return errors.lines().size() == before;
}
}  // namespace

PemSource pemSourceFromProto(const tlsv1::DataSource& proto, const std::string& path,
                             config::Errors& errors) {
  PemSource source;
  switch (proto.specifier_case()) {
    case tlsv1::DataSource::kFilename:
      source.kind = PemSource::Kind::kFile;
      source.value = proto.filename();
      if (source.value.empty()) errors.add(path + ".filename", "must not be empty");
      break;
    case tlsv1::DataSource::kInlineString:
      source.kind = PemSource::Kind::kInline;
      source.value = proto.inline_string();
      if (source.value.empty()) errors.add(path + ".inline_string", "must not be empty");
      break;
    default:
      errors.add(path, "needs filename or inline_string");
  }
  return source;
}

std::optional<ContextSettings> ContextSettings::fromDownstream(
    const tlsv1::DownstreamTlsContext& proto, const std::string& path, config::Errors& errors) {
  ContextSettings out;
  out.server = true;
  bool ok = parseCommon(proto.common_tls_context(), path + ".common_tls_context", errors, out);
  if (!out.has_certificate) {
    errors.add(path + ".common_tls_context", "a server needs a certificate");
    ok = false;
  }
  out.require_client_certificate =
      proto.has_require_client_certificate() && proto.require_client_certificate().value();
  if (out.require_client_certificate && !out.verify_peer) {
    errors.add(path + ".require_client_certificate",
               "needs a validation context (trusted_ca) to verify client certificates against");
    ok = false;
  }
  if (proto.has_session_timeout()) {
    if (proto.session_timeout().seconds() <= 0 || proto.session_timeout().nanos() != 0) {
      errors.add(path + ".session_timeout", "must be a positive whole number of seconds");
      ok = false;
    } else {
      out.session_timeout = std::chrono::seconds(proto.session_timeout().seconds());
    }
  }
  if (!ok) return std::nullopt;
  return out;
}

std::optional<ContextSettings> ContextSettings::fromUpstream(const tlsv1::UpstreamTlsContext& proto,
                                                             const std::string& path,
                                                             config::Errors& errors) {
  ContextSettings out;
  out.server = false;
  bool ok = parseCommon(proto.common_tls_context(), path + ".common_tls_context", errors, out);
  out.sni = proto.sni();
  if (out.sni.size() > 255) {
    errors.add(path + ".sni", "must be at most 255 bytes");
    ok = false;
  }
  if (!ok) return std::nullopt;
  return out;
}

}  // namespace remora::tls
