#include "source/pilot/ca/certificate_service.h"
#include "source/common/common/logger.h"

#include <algorithm>
#include <cctype>
#include <cstdio>

#include "source/common/crypto/csr.h"
#include "source/common/crypto/spiffe_id.h"
#include "source/pilot/ca/ca_options.h"
#include "source/pilot/ca/ca_roots.h"

namespace remora::pilot::ca {

using crypto::quoteForMessage;
using grpc::StatusCode;

namespace {

// A real CSR is well under 4 KiB; this bounds what an authenticated caller can make pilot parse.
constexpr size_t kMaxCsrBytes = 64 * 1024;

// The token in "Bearer <token>" (the scheme is case-insensitive, RFC 6750), or empty.
std::string_view bearerToken(std::string_view authorization) {
  constexpr std::string_view kScheme = "bearer ";
  if (authorization.size() <= kScheme.size()) return {};
  for (size_t i = 0; i < kScheme.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(authorization[i])) != kScheme[i]) return {};
  }
  std::string_view token = authorization.substr(kScheme.size());
  while (!token.empty() && token.front() == ' ') token.remove_prefix(1);
  while (!token.empty() && token.back() == ' ') token.remove_suffix(1);
  return token;
}

CsrResult resultOf(StatusCode code) {
  switch (code) {
    case StatusCode::OK:
      return CsrResult::kIssued;
    case StatusCode::UNAUTHENTICATED:
      return CsrResult::kUnauthenticated;
    case StatusCode::PERMISSION_DENIED:
      return CsrResult::kPermissionDenied;
    case StatusCode::INVALID_ARGUMENT:
      return CsrResult::kInvalid;
    default:
      return CsrResult::kError;
  }
}

const char* codeName(StatusCode code) {
  switch (code) {
    case StatusCode::UNAUTHENTICATED:
      return "UNAUTHENTICATED";
    case StatusCode::PERMISSION_DENIED:
      return "PERMISSION_DENIED";
    case StatusCode::INVALID_ARGUMENT:
      return "INVALID_ARGUMENT";
    default:
      return "INTERNAL";
  }
}

}  // namespace

grpc::Status WorkloadCertificateService::CreateCertificate(
    grpc::ServerContext* context, const remora::service::ca::v1::CertificateRequest* request,
    remora::service::ca::v1::CertificateResponse* response) {
  std::string_view authorization;
  auto it = context->client_metadata().find("authorization");
  if (it != context->client_metadata().end()) {
    authorization = std::string_view(it->second.data(), it->second.size());
  }
  std::string identity;
  std::chrono::seconds ttl{0};
  grpc::Status status = create(authorization, *request, *response, identity, ttl);
  metrics_.count(resultOf(status.error_code()));
  // One line per request: the CA's audit trail.
  if (status.ok()) {
    REMORA_LOG(info, "ca: issued %s for %s to %s", identity.c_str(), formatDuration(ttl).c_str(),
               context->peer().c_str());
  } else {
    REMORA_LOG(warn, "ca: refused %s%s%s: %s: %s", context->peer().c_str(),
               identity.empty() ? "" : " as ", identity.c_str(), codeName(status.error_code()),
               status.error_message().c_str());
  }
  return status;
}

grpc::Status WorkloadCertificateService::create(
    std::string_view authorization, const remora::service::ca::v1::CertificateRequest& request,
    remora::service::ca::v1::CertificateResponse& response, std::string& identity,
    std::chrono::seconds& ttl) {
  const auto now = options_.now();
  const std::string_view token = bearerToken(authorization);
  if (token.empty()) {
    return {StatusCode::UNAUTHENTICATED,
            "no token: send metadata \"authorization: Bearer <service-account token>\""};
  }
  auto account = authenticator_.authenticate(token, now);
  if (!account.ok()) {
    return {StatusCode::UNAUTHENTICATED, account.error()};
  }
  auto spiffe_id = crypto::SpiffeId::create(options_.trust_domain, account->ns, account->name);
  if (!spiffe_id.ok()) {
    return {StatusCode::PERMISSION_DENIED, "service account " + account->ns + "/" + account->name +
                                               " has no valid SPIFFE ID: " + spiffe_id.error()};
  }
  identity = spiffe_id->toString();

  if (request.validity_duration() < 0) {
    return {StatusCode::INVALID_ARGUMENT, "validity_duration must not be negative, got " +
                                              std::to_string(request.validity_duration())};
  }
  // Checked here rather than left to the CA's sign() so that each failure gets its own code.
  if (request.csr().size() > kMaxCsrBytes) {
    return {StatusCode::INVALID_ARGUMENT,
            "CSR is larger than " + std::to_string(kMaxCsrBytes) + " bytes"};
  }
  auto csr = crypto::parseCsr(request.csr());
  if (!csr.ok()) {
    return {StatusCode::INVALID_ARGUMENT, csr.error()};
  }
  if (!csr->signatureVerifies()) {
    return {StatusCode::INVALID_ARGUMENT, "CSR signature does not verify"};
  }
  for (const std::string& uri : csr->uriSans()) {
    if (uri != identity) {
      return {StatusCode::PERMISSION_DENIED, "CSR asks for URI SAN " + quoteForMessage(uri) +
                                                 " but the token proves " +
                                                 quoteForMessage(identity)};
    }
  }
  if (auto type = crypto::keyTypeOf(csr->publicKey()); !type.ok()) {
    return {StatusCode::INVALID_ARGUMENT, "CSR public key: " + type.error()};
  }

  const std::chrono::seconds requested(request.validity_duration());
  ttl = requested.count() == 0 ? options_.default_ttl : std::min(requested, options_.max_ttl);
  auto leaf = authority_.sign(request.csr(), identity, ttl, now);
  if (!leaf.ok()) {
    return {StatusCode::INTERNAL, leaf.error()};
  }
  response.add_cert_chain(*leaf);
  // Read after signing: a rotation in between only adds the new root to the bundle, which
  // still holds the root that signed this leaf for the whole overlap.
  for (std::string& root : trustBundle(authority_)) {
    response.add_trust_bundle(std::move(root));
  }
  return grpc::Status::OK;
}

}  // namespace remora::pilot::ca
