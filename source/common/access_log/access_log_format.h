#pragma once

// One access-log line per request: JSON (default) or Envoy's default text layout.

#include <span>
#include <string>

#include "source/interface/http/codec.h"
#include "source/interface/http/header_map.h"
#include "source/interface/http/stream_info.h"

namespace remora::access_log {

// Every response flag with Envoy's short name for it ("UF"), in a fixed order.
struct ResponseFlagName {
  http::ResponseFlag flag;
  const char* name;
};
std::span<const ResponseFlagName> responseFlagNames();

// Envoy's short names for the flags set in `flags` ("UF,URX"), or "-" when none.
std::string responseFlagsString(uint32_t flags);

// Either header map may be null (no request decoded yet, no response sent).
std::string formatJson(const http::HeaderMap* request, const http::HeaderMap* response,
                       const http::StreamInfo& info, http::Protocol protocol);
std::string formatText(const http::HeaderMap* request, const http::HeaderMap* response,
                       const http::StreamInfo& info, http::Protocol protocol);

}  // namespace remora::access_log
