#pragma once

// The CertificateService gRPC handler (api/remora/service/ca/v1/ca.proto): authenticates the
// caller by its bearer token (a ServiceAccountAuthenticator: static key or TokenReview), signs
// its CSR for exactly the identity the token proves,
// spiffe://<trust-domain>/ns/<namespace>/sa/<service-account>, and counts each outcome.
//
// Threads: CreateCertificate runs on gRPC's threads, many at once; everything it uses is
// thread-safe. The references given to the constructor must outlive the service.

#include <chrono>
#include <functional>
#include <string>
#include <string_view>

#include <grpcpp/grpcpp.h>

#include "remora/service/ca/v1/ca.grpc.pb.h"
#include "source/common/crypto/certificate_authority.h"
#include "source/pilot/ca/ca_metrics.h"
#include "source/pilot/ca/service_account_authenticator.h"

namespace remora::pilot::ca {

class WorkloadCertificateService final
    : public remora::service::ca::v1::CertificateService::Service {
 public:
  struct Options {
    std::string trust_domain = "cluster.local";
    std::chrono::seconds default_ttl{std::chrono::hours(24)};  // for validity_duration 0
    std::chrono::seconds max_ttl{std::chrono::hours(48)};      // longer requests are capped
    std::function<std::chrono::system_clock::time_point()> now = std::chrono::system_clock::now;
  };

  WorkloadCertificateService(const crypto::CertificateAuthority& authority,
                             const ServiceAccountAuthenticator& authenticator, CaMetrics& metrics,
                             Options options)
      : authority_(authority),
        authenticator_(authenticator),
        metrics_(metrics),
        options_(options) {}

  // Status codes: UNAUTHENTICATED (no `authorization: Bearer <token>` metadata, or a token
  // that does not verify), PERMISSION_DENIED (the CSR asks for a URI SAN other than the
  // token's identity; both are named), INVALID_ARGUMENT (a malformed CSR, a CSR whose
  // signature does not verify or whose key is unsupported, a negative validity_duration),
  // INTERNAL (the CA cannot sign). On OK the response holds the leaf and the trust bundle.
  grpc::Status CreateCertificate(grpc::ServerContext* context,
                                 const remora::service::ca::v1::CertificateRequest* request,
                                 remora::service::ca::v1::CertificateResponse* response) override;

 private:
  // The request's outcome; sets `identity` once the token is verified and `ttl` once known,
  // for the audit line.
  grpc::Status create(std::string_view authorization,
                      const remora::service::ca::v1::CertificateRequest& request,
                      remora::service::ca::v1::CertificateResponse& response, std::string& identity,
                      std::chrono::seconds& ttl);

  const crypto::CertificateAuthority& authority_;
  const ServiceAccountAuthenticator& authenticator_;
  CaMetrics& metrics_;
  const Options options_;
};

}  // namespace remora::pilot::ca
