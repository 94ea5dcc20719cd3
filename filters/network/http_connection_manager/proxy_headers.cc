#include "filters/network/http_connection_manager/proxy_headers.h"

#include <algorithm>
#include <string>
#include <vector>

#include "source/common/common/uuid.h"

namespace remora::filters::hcm {
namespace {

std::string lower(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

std::string_view trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  return text;
}

// The comma-separated tokens of a header value, lowercased.
std::vector<std::string> tokens(std::string_view value) {
  std::vector<std::string> out;
  while (!value.empty()) {
    size_t comma = value.find(',');
    std::string_view token = trim(value.substr(0, comma));
    if (!token.empty()) out.push_back(lower(token));
    if (comma == std::string_view::npos) break;
    value.remove_prefix(comma + 1);
  }
  return out;
}

}  // namespace

void removeHopByHopHeaders(http::HeaderMap& headers, bool keep_upgrade) {
  if (const std::string* connection = headers.get("connection")) {
    for (const auto& name : tokens(*connection)) {
      if (name == "upgrade" && keep_upgrade) continue;
      if (name.empty() || name[0] == ':') continue;
      headers.remove(name);
    }
  }
  if (!keep_upgrade) {
    headers.remove("connection");
    headers.remove("upgrade");
  } else {
    headers.set("connection", "upgrade");
  }
  headers.remove("keep-alive");
  headers.remove("proxy-connection");
  headers.remove("transfer-encoding");
  if (const std::string* te = headers.get("te")) {
    if (lower(trim(*te)) != "trailers") headers.remove("te");
  }
}

void addForwardingHeaders(http::HeaderMap& request, const network::Address& peer,
                          std::string_view scheme, bool generate_request_id) {
  if (peer.valid()) {
    const std::string* existing = request.get("x-forwarded-for");
    request.set("x-forwarded-for", existing ? *existing + ", " + peer.ip() : peer.ip());
  }
  if (!request.has("x-forwarded-proto")) request.set("x-forwarded-proto", scheme);
  if (generate_request_id && !request.has("x-request-id")) request.set("x-request-id", uuid4());
}

bool isWebSocketUpgrade(const http::HeaderMap& request) {
  const std::string* upgrade = request.get("upgrade");
  const std::string* connection = request.get("connection");
  if (upgrade == nullptr || connection == nullptr) return false;
  if (lower(trim(*upgrade)) != "websocket") return false;
  for (const auto& token : tokens(*connection)) {
    if (token == "upgrade") return true;
  }
  return false;
}

}  // namespace remora::filters::hcm
