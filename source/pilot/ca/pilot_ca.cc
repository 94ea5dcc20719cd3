#include "source/pilot/ca/pilot_ca.h"
#include "source/common/common/logger.h"

#include <cstdio>

#include "source/pilot/ca/token_verifier.h"

namespace remora::pilot::ca {

using crypto::Error;

namespace {

// The folder mode's authenticator: tokens verified with the keys of --token-public-key.
crypto::Result<std::shared_ptr<const ServiceAccountAuthenticator>> staticKeyVerifier(
    const CaOptions& options) {
  std::shared_ptr<const TokenKeys> keys;
  if (options.token_public_key.empty()) {
    REMORA_LOG(warn,
               "ca: no --token-public-key: every certificate request will be "
               "refused as unauthenticated");
  } else {
    auto loaded = TokenKeys::load(options.token_public_key);
    if (!loaded.ok()) return Error{"--token-public-key " + loaded.error()};
    keys = std::move(*loaded);
  }
  return std::shared_ptr<const ServiceAccountAuthenticator>(std::make_shared<TokenVerifier>(
      std::move(keys), TokenVerifier::Options{options.token_audience, options.token_issuer}));
}

}  // namespace

crypto::Result<std::unique_ptr<PilotCa>> PilotCa::start(const CaOptions& options,
                                                        const std::string& trust_domain,
                                                        std::vector<grpc::Service*> more_services) {
  if (auto status = validateCaOptions(options); !status.ok()) {
    return Error{status.error()};
  }
  const auto now = std::chrono::system_clock::now();
  std::unique_ptr<PilotCa> ca(new PilotCa());
  auto roots = CaRoots::open({options.ca_dir, options.root_cert_out, options.rootOverlap()}, now);
  if (!roots.ok()) return Error{roots.error()};
  ca->roots_ = std::move(*roots);

  if (options.token_authenticator) {
    ca->authenticator_ = options.token_authenticator;
  } else {
    auto verifier = staticKeyVerifier(options);
    if (!verifier.ok()) return Error{verifier.error()};
    ca->authenticator_ = std::move(*verifier);
  }
  WorkloadCertificateService::Options service_options;
  service_options.trust_domain = trust_domain;
  service_options.default_ttl = options.workload_cert_ttl;
  service_options.max_ttl = options.max_workload_cert_ttl;
  ca->service_ = std::make_unique<WorkloadCertificateService>(
      ca->roots_->authority(), *ca->authenticator_, ca->metrics_, service_options);
  ca->listener_ = std::make_unique<CaListener>(
      ca->roots_->authority(), *ca->service_,
      CaListener::Options{options.listen, options.hostnames}, std::move(more_services));
  if (auto status = ca->listener_->start(now); !status.ok()) {
    return Error{status.error()};
  }
  return ca;
}

void PilotCa::tick(std::chrono::system_clock::time_point now) {
  roots_->poll(now);
  // Also renews at half the serving certificate's life, and retries a failed hand-over.
  auto refreshed = listener_->refresh(now);
  if (!refreshed.ok()) {
    // Retried every tick: reported once per distinct problem, not once a second.
    if (refreshed.error() != last_refresh_error_) {
      REMORA_LOG(warn, "ca: keeping the current serving certificate: %s",
                 refreshed.error().c_str());
    }
    last_refresh_error_ = refreshed.error();
    return;
  }
  last_refresh_error_.clear();
  if (*refreshed) {
    REMORA_LOG(info, "ca: serving certificate re-issued by the signing root");
  }
}

}  // namespace remora::pilot::ca
