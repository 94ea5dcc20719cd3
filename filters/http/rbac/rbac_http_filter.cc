#include "filters/http/rbac/rbac_http_filter.h"

#include "source/common/common/logger.h"

namespace remora::filters::rbac {
namespace {

constexpr std::string_view kDeniedBody = "RBAC: access denied";

// Istio and Envoy match paths without the query string (or a fragment a client sent).
std::string_view pathWithoutQuery(std::string_view path) {
  return path.substr(0, path.find_first_of("?#"));
}

}  // namespace

std::optional<std::string_view> RbacHttpFilter::header(const http::HeaderMap& headers,
                                                       std::string_view name) {
  std::optional<std::string_view> first;
  std::string* joined = nullptr;
  for (const auto& [entry_name, value] : headers.entries()) {
    if (entry_name != name) continue;
    if (!first) {
      first = value;
      continue;
    }
    if (joined == nullptr) {
      joined = &joined_.emplace_front(*first);
    }
    *joined += ',';
    *joined += value;
  }
  if (joined != nullptr) return std::string_view(*joined);
  return first;
}

http::FilterStatus RbacHttpFilter::decodeHeaders(http::HeaderMap& headers, bool) {
  const std::string& forward_header = config_.forwardPrincipalHeader();
  // Whatever the client put there is not an identity the proxy vouches for; gone before the
  // policies look at the headers.
  if (!forward_header.empty()) headers.remove(forward_header);

  network::Connection& connection = callbacks_->connection();
  remora::rbac::AuthorizationRequest request;
  addConnectionAttributes(connection, request);
  request.is_http = true;
  request.method = headers.method();
  request.path = pathWithoutQuery(headers.path());
  request.host = headers.authority();
  // Two pointers: fits std::function's inline storage, so no allocation per request.
  request.headers = [this, &headers](std::string_view name) { return header(headers, name); };
  remora::rbac::Decision decision = config_.authorize(request);
  for (std::string_view policy : decision.audited) {
    REMORA_LOG(debug, "[C%lu][S%lu] rbac %s: %.*s %.*s audited by policy %.*s", connection.id(),
               callbacks_->streamId(), config_.statPrefix().c_str(),
               static_cast<int>(request.method.size()), request.method.data(),
               static_cast<int>(request.path.size()), request.path.data(),
               static_cast<int>(policy.size()), policy.data());
  }

  if (decision.allowed) {
    if (!forward_header.empty() && !request.peer_principal.empty()) {
      headers.set(forward_header, request.peer_principal);
    }
    return http::FilterStatus::kContinue;
  }

  REMORA_LOG(debug, "[C%lu][S%lu] rbac %s: denied %.*s %.*s (principal \"%.*s\"): %.*s%s%.*s",
             connection.id(), callbacks_->streamId(), config_.statPrefix().c_str(),
             static_cast<int>(request.method.size()), request.method.data(),
             static_cast<int>(request.path.size()), request.path.data(),
             static_cast<int>(request.peer_principal.size()), request.peer_principal.data(),
             static_cast<int>(decision.reason.size()), decision.reason.data(),
             decision.policy.empty() ? "" : " ", static_cast<int>(decision.policy.size()),
             decision.policy.data());
  // Envoy's response code details, so access logs say which policy refused the request.
  std::string details = "rbac_access_denied_matched_policy[";
  details += decision.policy.empty() ? std::string_view("none") : decision.policy;
  details += ']';
  callbacks_->sendLocalReply(403, kDeniedBody, details, http::ResponseFlag::kNone);
  return http::FilterStatus::kStop;
}

}  // namespace remora::filters::rbac
