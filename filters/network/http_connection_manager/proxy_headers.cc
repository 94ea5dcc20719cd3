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

// Calls `fn` with each comma-separated token of a header value, lowercased (short tokens
// stay in std::string's inline storage, so this does not allocate).
template <typename Fn>
void forEachToken(std::string_view value, Fn fn) {
  while (!value.empty()) {
    size_t comma = value.find(',');
    std::string_view token = trim(value.substr(0, comma));
    if (!token.empty()) fn(lower(token));
    if (comma == std::string_view::npos) break;
    value.remove_prefix(comma + 1);
  }
}

}  // namespace

void removeHopByHopHeaders(http::HeaderMap& headers, bool keep_upgrade) {
  if (auto connection = headers.get("connection")) {
    // Copied: views into the map are only promised until it changes.
    std::string names(*connection);
    forEachToken(names, [&](const std::string& name) {
      if (name == "upgrade" && keep_upgrade) return;
      if (name[0] == ':') return;
      headers.remove(name);
    });
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
  if (auto te = headers.get("te")) {
    if (lower(trim(*te)) != "trailers") headers.remove("te");
  }
}

void addForwardingHeaders(http::HeaderMap& request, const network::Address& peer,
                          std::string_view scheme, bool generate_request_id) {
  if (peer.valid()) {
    auto existing = request.get("x-forwarded-for");
    if (existing) {
      std::string chain(*existing);
      chain += ", ";
      chain += peer.ip();
      request.set("x-forwarded-for", chain);
    } else {
      request.set("x-forwarded-for", peer.ip());
    }
  }
  if (!request.has("x-forwarded-proto")) request.set("x-forwarded-proto", scheme);
  if (generate_request_id && !request.has("x-request-id")) request.set("x-request-id", uuid4());
}

bool isWebSocketUpgrade(const http::HeaderMap& request) {
  auto upgrade = request.get("upgrade");
  auto connection = request.get("connection");
  if (!upgrade || !connection) return false;
  if (lower(trim(*upgrade)) != "websocket") return false;
  bool found = false;
  forEachToken(*connection, [&](const std::string& token) { found |= token == "upgrade"; });
  return found;
}

}  // namespace remora::filters::hcm
