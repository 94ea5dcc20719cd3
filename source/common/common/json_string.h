#pragma once

// JSON string literals (RFC 8259 section 7): the one place text becomes a quoted JSON string,
// for every hand-written JSON output (config conversion, pilot's debug pages, the Kubernetes
// client). Quotes and backslashes are escaped, control characters written as \n, \r, \t or
// \u00XX; other bytes (UTF-8 included) pass through unchanged.

#include <string>
#include <string_view>

namespace remora::json {

// Appends `text` as a quoted JSON string to `out`.
void appendString(std::string_view text, std::string& out);

// `text` as a quoted JSON string.
inline std::string quote(std::string_view text) {
  std::string out;
  appendString(text, out);
  return out;
}

}  // namespace remora::json
