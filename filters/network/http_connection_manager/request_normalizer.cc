#include "filters/network/http_connection_manager/request_normalizer.h"

#include "source/common/http/normalize/authority_normalizer.h"

namespace remora::filters::hcm {
namespace {

NormalizationVerdict reject(http::NormalizationError error) {
  return {NormalizationVerdict::Kind::kReject, error, {}};
}

}  // namespace

NormalizationVerdict normalizeRequest(http::HeaderMap& request,
                                      const http::PathNormalizationOptions& options) {
  if (auto host = request.get("host")) {
    // RFC 9113 8.3.1: Host may replace :authority; when both came, :authority is what
    // decides, so Host must not reach an HTTP/1.1 upstream as a second opinion.
    if (request.authority().empty()) request.set(":authority", *host);
    request.remove("host");
  }
  auto authority = http::normalizeAuthority(request.authority());
  if (authority.outcome == http::AuthorityResult::Outcome::kRejected) {
    return reject(http::NormalizationError::kInvalidAuthority);
  }
  if (authority.outcome == http::AuthorityResult::Outcome::kNormalized) {
    request.set(":authority", authority.authority);
  }

  std::string_view method = request.method();
  std::string_view path = request.path();
  if (method == "CONNECT" && path.empty()) return {};
  if (path == "*") {
    if (method == "OPTIONS") return {};
    return reject(http::NormalizationError::kInvalidPath);
  }
  auto result = http::normalizePath(path, options);
  switch (result.outcome) {
    case http::PathResult::Outcome::kUnchanged:
      break;
    case http::PathResult::Outcome::kNormalized:
      request.set(":path", result.path);
      break;
    case http::PathResult::Outcome::kRedirect:
      return {NormalizationVerdict::Kind::kRedirect, {}, std::move(result.path)};
    case http::PathResult::Outcome::kRejected:
      return reject(result.error);
  }
  return {};
}

}  // namespace remora::filters::hcm
