#pragma once

// Pieces shared by the HTTP/1.1 server and client codecs: header checks, header
// serialization, chunk framing, reason phrases.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "source/interface/buffer/buffer.h"
#include "source/interface/http/codec.h"
#include "source/interface/http/header_map.h"

namespace remora::http::http1 {

struct Http1Settings {
  uint32_t max_request_headers_bytes = 60 * 1024;  // beyond: 431
  uint32_t max_headers_count = 100;                // beyond: 431
  bool allow_absolute_url = true;                  // explicit-proxy requests
  // Upgrade protocols (lowercase, as the Upgrade header names them) a request may ask to
  // tunnel to; any other Upgrade is ignored (RFC 9110 7.8) and the request served as HTTP/1.1.
  std::vector<std::string> upgrade_protocols = {"websocket"};
};

// RFC 9110 token characters (header names, methods).
bool isTokenChar(unsigned char c);
bool validHeaderName(std::string_view name);
// No NUL, CR, LF or other controls except horizontal tab.
bool validHeaderValue(std::string_view value);

// Checks framing headers of a decoded message: Content-Length with Transfer-Encoding,
// conflicting or malformed Content-Length, Transfer-Encoding other than chunked.
std::optional<CodecError> checkFraming(const HeaderMap& headers);

const char* reasonPhrase(uint32_t status);

// A per-thread string for serializing a message head, emptied; its capacity is kept, so
// building a head costs no allocation once warm. Valid until the next call on this thread.
std::string& headScratch();

// Appends "name: value\r\n" for every non-pseudo header.
void writeHeaders(const HeaderMap& headers, std::string& out);

// Writes `data` as one chunk ("size\r\n...\r\n") into `out`, draining `data`.
void writeChunk(buffer::Instance& data, buffer::Instance& out);

// ASCII-only case folding: header names are ASCII, and std::tolower is a locale-aware call.
inline char lowerAscii(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c | 0x20) : c; }
void lowercaseAscii(std::string& text);
bool lowercaseEquals(std::string_view a, std::string_view b);
// Whether a comma-separated header value contains `token` (case-insensitive).
bool hasToken(std::string_view value, std::string_view token);

// The protocol an HTTP/1.1 request asks to switch to (RFC 9110 7.8): the first item of its
// Upgrade header, lowercased ("websocket"), when its Connection header lists "upgrade"; empty
// when it asks for none.
std::string upgradeProtocol(const HeaderMap& request);

}  // namespace remora::http::http1
