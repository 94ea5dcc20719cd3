#include "source/common/crypto/result.h"

#include <cstdio>

namespace remora::crypto {

std::string quoteForMessage(std::string_view text, size_t max_length) {
  std::string out = "\"";
  const bool cut = text.size() > max_length;
  if (cut) {
    text = text.substr(0, max_length);
  }
  for (const char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte >= 0x20 && byte < 0x7f && c != '"' && c != '\\') {
      out += c;
    } else {
      char escaped[5];
      std::snprintf(escaped, sizeof(escaped), "\\x%02x", byte);
      out += escaped;
    }
  }
  out += cut ? "...\"" : "\"";
  return out;
}

}  // namespace remora::crypto
