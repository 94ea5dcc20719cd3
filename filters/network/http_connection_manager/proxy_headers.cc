#include "filters/network/http_connection_manager/proxy_headers.h"

#include <algorithm>
#include <string>
#include <vector>

#include "source/common/common/uuid.h"

namespace remora::filters::hcm {
namespace {

std::string lower(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = c >= 'A' && c <= 'Z' ? static_cast<char>(c | 0x20) : c;
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
  // One pass over the entries: the fixed hop-by-hop names, and those the Connection header
  // lists (a handful at most, kept inline).
  constexpr size_t kMaxListed = 8;
  std::string listed[kMaxListed];
  size_t listed_count = 0;
  bool remove_te = false;
  for (const auto& [name, value] : headers.entries()) {
    if (name == "connection") {
      forEachToken(value, [&](const std::string& token) {
        if (token == "upgrade" && keep_upgrade) return;
        if (token[0] == ':' || listed_count == kMaxListed) return;
        listed[listed_count++] = token;
      });
    } else if (name == "te") {
      remove_te = lower(trim(value)) != "trailers";
    }
  }
  headers.removeIf([&](std::string_view name, std::string_view) {
    if (name == "keep-alive" || name == "proxy-connection" || name == "transfer-encoding" ||
        (remove_te && name == "te")) {
      return true;
    }
    if (name == "connection" || name == "upgrade") return !keep_upgrade;
    for (size_t i = 0; i < listed_count; ++i) {
      if (listed[i] == name) return true;
    }
    return false;
  });
  if (keep_upgrade) headers.set("connection", "upgrade");
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
  if (generate_request_id && !request.has("x-request-id")) {
    char id[36];
    writeUuid4(id);
    request.set("x-request-id", std::string_view(id, sizeof(id)));
  }
}

bool isUpgradeRequest(const http::HeaderMap& request) {
  auto upgrade = request.get("upgrade");
  auto connection = request.get("connection");
  if (!upgrade || !connection || trim(*upgrade).empty()) return false;
  bool found = false;
  forEachToken(*connection, [&](const std::string& token) { found |= token == "upgrade"; });
  return found;
}

}  // namespace remora::filters::hcm
