#include "source/common/access_log/access_log_format.h"

#include <cstdio>
#include <ctime>

namespace remora::access_log {
namespace {

constexpr ResponseFlagName kFlagNames[] = {
    {http::ResponseFlag::kNoRouteFound, "NR"},
    {http::ResponseFlag::kNoHealthyUpstream, "UH"},
    {http::ResponseFlag::kUpstreamConnectionFailure, "UF"},
    {http::ResponseFlag::kUpstreamRequestTimeout, "UT"},
    {http::ResponseFlag::kUpstreamRemoteReset, "UR"},
    {http::ResponseFlag::kUpstreamProtocolError, "UPE"},
    {http::ResponseFlag::kDownstreamProtocolError, "DPE"},
    {http::ResponseFlag::kDownstreamConnectionTermination, "DC"},
    {http::ResponseFlag::kLocalReset, "LR"},
    {http::ResponseFlag::kNoClusterFound, "NC"},
    {http::ResponseFlag::kStreamIdleTimeout, "SI"},
    {http::ResponseFlag::kUpstreamOverflow, "UO"},
    {http::ResponseFlag::kDelayInjected, "DI"},
    {http::ResponseFlag::kFaultInjected, "FI"},
    {http::ResponseFlag::kRateLimited, "RL"},
};

}  // namespace

std::span<const ResponseFlagName> responseFlagNames() { return kFlagNames; }

namespace {

void appendEscaped(std::string& out, std::string_view text) {
  for (unsigned char c : text) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c < 0x20) {
      char escaped[8];
      std::snprintf(escaped, sizeof(escaped), "\\u%04x", c);
      out += escaped;
    } else {
      out += static_cast<char>(c);
    }
  }
}

void field(std::string& out, const char* name, std::string_view value, bool quote = true) {
  if (out.size() > 1) out += ',';
  out += '"';
  out += name;
  out += "\":";
  if (quote) out += '"';
  appendEscaped(out, value);
  if (quote) out += '"';
}

std::string timestamp(std::chrono::system_clock::time_point t) {
  auto since = t.time_since_epoch();
  time_t seconds = std::chrono::duration_cast<std::chrono::seconds>(since).count();
  long millis = std::chrono::duration_cast<std::chrono::milliseconds>(since).count() % 1000;
  tm utc;
  gmtime_r(&seconds, &utc);
  char text[64];
  std::snprintf(text, sizeof(text), "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ", utc.tm_year + 1900,
                utc.tm_mon + 1, utc.tm_mday, utc.tm_hour, utc.tm_min, utc.tm_sec, millis);
  return text;
}

const char* protocolName(http::Protocol protocol) {
  switch (protocol) {
    case http::Protocol::kHttp10:
      return "HTTP/1.0";
    case http::Protocol::kHttp11:
      return "HTTP/1.1";
    case http::Protocol::kHttp2:
      return "HTTP/2";
  }
  return "-";
}

std::string durationMs(const http::StreamInfo& info) {
  if (!info.end_monotonic) return "0";
  return std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(*info.end_monotonic -
                                                                              info.start_monotonic)
                            .count());
}

std::string_view header(const http::HeaderMap* map, std::string_view name) {
  return map ? map->getOr(name, "-") : "-";
}

}  // namespace

std::string responseFlagsString(uint32_t flags) {
  std::string out;
  for (const auto& [flag, name] : kFlagNames) {
    if (flags & static_cast<uint32_t>(flag)) out += (out.empty() ? "" : ",") + std::string(name);
  }
  return out.empty() ? "-" : out;
}

std::string formatJson(const http::HeaderMap* request, const http::HeaderMap*,
                       const http::StreamInfo& info, http::Protocol protocol) {
  std::string out = "{";
  field(out, "start_time", timestamp(info.start_time));
  field(out, "method", header(request, ":method"));
  field(out, "authority", header(request, ":authority"));
  field(out, "path", header(request, ":path"));
  field(out, "protocol", protocolName(protocol));
  field(out, "response_code", std::to_string(info.response_code), false);
  field(out, "response_flags", responseFlagsString(info.response_flags));
  field(out, "response_code_details",
        info.response_code_details.empty() ? "-" : info.response_code_details);
  field(out, "bytes_received", std::to_string(info.bytes_received), false);
  field(out, "bytes_sent", std::to_string(info.bytes_sent), false);
  field(out, "duration_ms", durationMs(info), false);
  field(out, "upstream_host", info.upstream_host ? info.upstream_host->asString() : "-");
  field(out, "upstream_cluster", info.cluster_name.empty() ? "-" : info.cluster_name);
  field(out, "route_name", info.route_name.empty() ? "-" : info.route_name);
  field(out, "downstream_remote_address",
        info.downstream_remote.valid() ? info.downstream_remote.asString() : "-");
  field(out, "source_principal",
        info.downstream_peer_principal.empty() ? "-" : info.downstream_peer_principal);
  field(out, "user_agent", header(request, "user-agent"));
  field(out, "x_request_id", header(request, "x-request-id"));
  out += '}';
  return out;
}

std::string formatText(const http::HeaderMap* request, const http::HeaderMap*,
                       const http::StreamInfo& info, http::Protocol protocol) {
  // Envoy's default: [START] "METHOD PATH PROTOCOL" CODE FLAGS RX TX DURATION UPSTREAM_TIME
  // "XFF" "UA" "REQUEST_ID" "AUTHORITY" "UPSTREAM_HOST"
  std::string out = "[" + timestamp(info.start_time) + "] \"";
  out += std::string(header(request, ":method")) + " " + std::string(header(request, ":path")) +
         " " + protocolName(protocol) + "\" ";
  out += std::to_string(info.response_code) + " " + responseFlagsString(info.response_flags) + " " +
         std::to_string(info.bytes_received) + " " + std::to_string(info.bytes_sent) + " " +
         durationMs(info) + " - \"" + std::string(header(request, "x-forwarded-for")) + "\" \"" +
         std::string(header(request, "user-agent")) + "\" \"" +
         std::string(header(request, "x-request-id")) + "\" \"" +
         std::string(header(request, ":authority")) + "\" \"" +
         (info.upstream_host ? info.upstream_host->asString() : "-") + "\"";
  return out;
}

}  // namespace remora::access_log
