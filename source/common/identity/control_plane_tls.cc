#include "source/common/identity/control_plane_tls.h"

#include "source/common/tls/context_config.h"

namespace remora::identity {

namespace tlsv1 = extensions::transport_sockets::tls::v1;

tlsv1::UpstreamTlsContext controlPlaneTlsContext(const std::string& server_name) {
  tlsv1::UpstreamTlsContext proto;
  proto.set_sni(server_name);
  proto.mutable_common_tls_context()->add_alpn_protocols("h2");
  return proto;
}

void expectControlPlaneName(const std::string& server_name,
                            tlsv1::CertificateValidationContext& validation) {
  auto* expected = validation.add_match_typed_subject_alt_names();
  expected->set_san_type(tlsv1::SubjectAltNameMatcher::DNS);
  expected->set_exact(server_name);
}

std::string discoveryServerName(const config::bootstrap::v1::Bootstrap& bootstrap) {
  const auto& tls = bootstrap.dynamic_resources().ads_config().workload_identity_tls();
  if (!tls.server_name().empty()) return tls.server_name();
  if (!bootstrap.workload_identity().ca_server_name().empty()) {
    return bootstrap.workload_identity().ca_server_name();
  }
  return kDefaultControlPlaneName;
}

std::shared_ptr<tls::TlsSocketFactory> workloadIdentityTransport(const std::string& server_name,
                                                                 tls::SecretManager& secrets,
                                                                 stats::Store& store,
                                                                 std::string& error) {
  tlsv1::UpstreamTlsContext proto = controlPlaneTlsContext(server_name);
  auto* common = proto.mutable_common_tls_context();
  // Names without sds_config: the proxy's own workload identity supplies them.
  common->add_tls_certificate_sds_secret_configs()->set_name(tls::kWorkloadCertificate);
  auto* combined = common->mutable_combined_validation_context();
  combined->mutable_validation_context_sds_secret_config()->set_name(tls::kTrustBundle);
  expectControlPlaneName(server_name, *combined->mutable_default_validation_context());
  const std::string path = "dynamic_resources.ads_config.workload_identity_tls";
  config::Errors errors;
  auto settings = tls::ContextSettings::fromUpstream(proto, path, errors);
  if (!settings) {
    error = errors.joined();
    return nullptr;
  }
  auto factory = std::make_shared<tls::TlsSocketFactory>(
      *settings, std::make_shared<tls::TlsStats>(store, "upstream", "xds"));
  if (!secrets.bind(factory, "xds", path, errors, &store)) {
    error = errors.joined();
    return nullptr;
  }
  return factory;
}

}  // namespace remora::identity
