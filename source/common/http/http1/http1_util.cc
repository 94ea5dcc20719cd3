#include "source/common/http/http1/http1_util.h"

#include <cstdio>

namespace remora::http::http1 {

bool isTokenChar(unsigned char c) {
  if (c >= '0' && c <= '9') return true;
  if ((c | 0x20) >= 'a' && (c | 0x20) <= 'z') return true;
  switch (c) {
    case '!':
    case '#':
    case '$':
    case '%':
    case '&':
    case '\'':
    case '*':
    case '+':
    case '-':
    case '.':
    case '^':
    case '_':
    case '`':
    case '|':
    case '~':
      return true;
    default:
      return false;
  }
}

bool validHeaderName(std::string_view name) {
  if (name.empty()) return false;
  for (unsigned char c : name) {
    if (!isTokenChar(c)) return false;
  }
  return true;
}

bool validHeaderValue(std::string_view value) {
  for (unsigned char c : value) {
    if ((c < 0x20 && c != '\t') || c == 0x7f) return false;
  }
  return true;
}

void lowercaseAscii(std::string& text) {
  for (char& c : text) c = lowerAscii(c);
}

bool lowercaseEquals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (lowerAscii(a[i]) != lowerAscii(b[i])) {
      return false;
    }
  }
  return true;
}

bool hasToken(std::string_view value, std::string_view token) {
  while (!value.empty()) {
    size_t comma = value.find(',');
    std::string_view item = value.substr(0, comma);
    while (!item.empty() && (item.front() == ' ' || item.front() == '\t')) item.remove_prefix(1);
    while (!item.empty() && (item.back() == ' ' || item.back() == '\t')) item.remove_suffix(1);
    if (lowercaseEquals(item, token)) return true;
    if (comma == std::string_view::npos) break;
    value.remove_prefix(comma + 1);
  }
  return false;
}

std::string upgradeProtocol(const HeaderMap& request) {
  auto upgrade = request.get("upgrade");
  auto connection = request.get("connection");
  if (!upgrade || !connection || !hasToken(*connection, "upgrade")) return {};
  std::string_view first = upgrade->substr(0, upgrade->find(','));
  while (!first.empty() && (first.front() == ' ' || first.front() == '\t')) first.remove_prefix(1);
  while (!first.empty() && (first.back() == ' ' || first.back() == '\t')) first.remove_suffix(1);
  std::string protocol(first);
  lowercaseAscii(protocol);
  return protocol;
}

std::optional<CodecError> checkFraming(const HeaderMap& headers) {
  std::optional<std::string_view> length;
  bool transfer_encoding = false;
  for (const auto& [name, value] : headers.entries()) {
    if (name == "content-length") {
      if (value.empty() || value.find_first_not_of("0123456789") != std::string::npos) {
        return CodecError{400, "http1.invalid_content_length"};
      }
      if (length && *length != value) {
        return CodecError{400, "http1.conflicting_content_length"};
      }
      length = value;
    } else if (name == "transfer-encoding") {
      transfer_encoding = true;
      if (!lowercaseEquals(value, "chunked")) {
        return CodecError{501, "http1.unsupported_transfer_encoding"};
      }
    }
  }
  if (length && transfer_encoding) {
    return CodecError{400, "http1.both_content_length_and_transfer_encoding"};
  }
  return std::nullopt;
}

std::string& headScratch() {
  thread_local std::string scratch;
  scratch.clear();
  return scratch;
}

const char* reasonPhrase(uint32_t status) {
  switch (status) {
    case 100:
      return "Continue";
    case 101:
      return "Switching Protocols";
    case 200:
      return "OK";
    case 201:
      return "Created";
    case 202:
      return "Accepted";
    case 204:
      return "No Content";
    case 206:
      return "Partial Content";
    case 301:
      return "Moved Permanently";
    case 302:
      return "Found";
    case 303:
      return "See Other";
    case 304:
      return "Not Modified";
    case 307:
      return "Temporary Redirect";
    case 308:
      return "Permanent Redirect";
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 408:
      return "Request Timeout";
    case 413:
      return "Payload Too Large";
    case 429:
      return "Too Many Requests";
    case 431:
      return "Request Header Fields Too Large";
    case 500:
      return "Internal Server Error";
    case 501:
      return "Not Implemented";
    case 502:
      return "Bad Gateway";
    case 503:
      return "Service Unavailable";
    case 504:
      return "Gateway Timeout";
    case 505:
      return "HTTP Version Not Supported";
    default:
      return "Unknown";
  }
}

void writeHeaders(const HeaderMap& headers, std::string& out) {
  for (const auto& [name, value] : headers.entries()) {
    if (name.empty() || name[0] == ':') continue;
    out += name;
    out += ": ";
    out += value;
    out += "\r\n";
  }
}

void writeChunk(buffer::Instance& data, buffer::Instance& out) {
  if (data.length() == 0) return;
  char size[24];
  int n = std::snprintf(size, sizeof(size), "%zx\r\n", data.length());
  out.add(size, n);
  out.move(data);
  out.add("\r\n", 2);
}

}  // namespace remora::http::http1
