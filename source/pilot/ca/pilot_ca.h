#pragma once

// Pilot's certificate authority as remora-pilot runs it, built from the command line: the
// roots (CaRoots), the token authenticator (the static-key TokenVerifier, or the one
// CaOptions::token_authenticator names), the signing service on its TLS port (CaListener) and
// the metrics. main.cc starts it and calls tick() about once a second from its loop.
//
// Threads: start(), tick() and stop() on pilot's main thread; metrics() from any thread.

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "source/common/crypto/result.h"
#include "source/pilot/ca/ca_listener.h"
#include "source/pilot/ca/ca_metrics.h"
#include "source/pilot/ca/ca_options.h"
#include "source/pilot/ca/ca_roots.h"
#include "source/pilot/ca/certificate_service.h"
#include "source/pilot/ca/service_account_authenticator.h"

namespace remora::pilot::ca {

class PilotCa {
 public:
  // Loads or creates the roots, writes the bundle, reads the token keys and starts serving.
  // With options.token_authenticator set, callers are authenticated by it and the token flags
  // are unused. Otherwise, without --token-public-key it still serves (and warns): every
  // request is refused as unauthenticated. Errors: invalid options, or as CaRoots::open,
  // TokenKeys::load and CaListener::start. `more_services` are served on the CA's TLS port too
  // (pilot's discovery service) and must outlive the CA.
  static crypto::Result<std::unique_ptr<PilotCa>> start(
      const CaOptions& options, const std::string& trust_domain,
      std::vector<grpc::Service*> more_services = {});

  // Picks up a new root in --ca-dir, drops roots whose overlap ended, rewrites the bundle
  // and re-issues the serving certificate as needed. Problems are logged; nothing stops.
  void tick(std::chrono::system_clock::time_point now);

  // Stops serving. Idempotent.
  void stop() { listener_->stop(); }

  // The bound TLS port and IP.
  uint16_t port() const { return listener_->port(); }
  const std::string& ip() const { return listener_->ip(); }

  // The CA's metrics, Prometheus text (see CaMetrics::render).
  std::string metrics() const {
    return metrics_.render(roots_->authority(), std::chrono::system_clock::now());
  }

  const crypto::CertificateAuthority& authority() const { return roots_->authority(); }

 private:
  PilotCa() = default;

  std::unique_ptr<CaRoots> roots_;
  CaMetrics metrics_;
  std::shared_ptr<const ServiceAccountAuthenticator> authenticator_;
  std::unique_ptr<WorkloadCertificateService> service_;
  std::unique_ptr<CaListener> listener_;  // destroyed before what it serves: stops first
  std::string last_refresh_error_;
};

}  // namespace remora::pilot::ca
