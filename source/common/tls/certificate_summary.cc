#include "source/common/tls/certificate_summary.h"

#include <cstdio>
#include <ctime>

namespace remora::tls {
namespace {

std::string jsonEscaped(const std::string& in) {
  std::string out;
  for (char c : in) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      char escaped[8];
      std::snprintf(escaped, sizeof(escaped), "\\u%04x", c);
      out += escaped;
    } else {
      out += c;
    }
  }
  return out;
}

std::string isoTime(std::chrono::system_clock::time_point time) {
  std::time_t t = std::chrono::system_clock::to_time_t(time);
  char text[32];
  struct tm parts {};
  gmtime_r(&t, &parts);
  std::strftime(text, sizeof(text), "%Y-%m-%dT%H:%M:%SZ", &parts);
  return text;
}

}  // namespace

std::string certificateJson(const crypto::CertificateInfo& info,
                            std::chrono::system_clock::time_point now) {
  std::string sans;
  for (const auto& san : info.sans) {
    if (!sans.empty()) sans += ", ";
    sans += "\"" + std::string(crypto::sanTypeName(san.type)) + ":" + jsonEscaped(san.value) + "\"";
  }
  return "{\"subject\": \"" + jsonEscaped(info.subject) + "\", \"issuer\": \"" +
         jsonEscaped(info.issuer) + "\", \"serial_number\": \"" + info.serial_hex +
         "\", \"subject_alt_names\": [" + sans + "], \"valid_from\": \"" +
         isoTime(info.not_before) + "\", \"expiration_time\": \"" + isoTime(info.not_after) +
         "\", \"seconds_until_expiration\": " + std::to_string(info.secondsUntilExpiry(now)) + "}";
}

}  // namespace remora::tls
