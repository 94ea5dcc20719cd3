#include "filters/network/http_connection_manager/client_cert_header.h"

namespace remora::filters::hcm {
namespace {

bool unreserved(unsigned char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '.' || c == '_' || c == '~';
}

// Percent-encodes all but RFC 3986's unreserved characters (PEM's newlines, '+', '/', '=').
std::string urlEncode(std::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(text.size() * 3 / 2);
  for (unsigned char c : text) {
    if (unreserved(c)) {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 0xf];
    }
  }
  return out;
}

// key="value", with '"' and '\' escaped: the form XFCC parsers expect for values that may
// hold ',', ';' or '='.
void addQuoted(std::string& out, std::string_view key, std::string_view value) {
  if (!out.empty()) out += ';';
  out += key;
  out += "=\"";
  for (char c : value) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  out += '"';
}

// key=value, quoted only when the value has a character XFCC uses as a separator (a SAN never
// should; a certificate that has one must not be able to add fields).
void addValue(std::string& out, std::string_view key, std::string_view value) {
  if (value.find_first_of(",;=\"") != std::string_view::npos) {
    addQuoted(out, key, value);
    return;
  }
  if (!out.empty()) out += ';';
  out += key;
  out += '=';
  out += value;
}

}  // namespace

std::string clientCertElement(const network::SslConnectionInfo& ssl,
                              const ClientCertDetails& details) {
  std::string out;
  if (!ssl.local_uri_san.empty()) addValue(out, "By", ssl.local_uri_san);
  if (!ssl.peer_certificate_sha256.empty()) addValue(out, "Hash", ssl.peer_certificate_sha256);
  if (details.cert && ssl.peer_certificates_pem) {
    addQuoted(out, "Cert", urlEncode(ssl.peer_certificates_pem(false)));
  }
  if (details.chain && ssl.peer_certificates_pem) {
    addQuoted(out, "Chain", urlEncode(ssl.peer_certificates_pem(true)));
  }
  if (details.subject) addQuoted(out, "Subject", ssl.peer_subject);
  if (details.uri) {
    for (const auto& uri : ssl.peer_uri_sans) addValue(out, "URI", uri);
  }
  if (details.dns) {
    for (const auto& dns : ssl.peer_dns_sans) addValue(out, "DNS", dns);
  }
  return out;
}

void applyClientCertHeader(http::HeaderMap& request, const network::SslConnectionInfo* ssl,
                           const ClientCertConfig& config) {
  const bool mtls = ssl != nullptr && ssl->peer_certificate_validated;
  switch (config.mode) {
    case ForwardClientCert::kAlwaysForwardOnly:
      return;
    case ForwardClientCert::kSanitize:
      request.remove(kClientCertHeader);
      return;
    case ForwardClientCert::kForwardOnly:
      if (!mtls) request.remove(kClientCertHeader);
      return;
    case ForwardClientCert::kAppendForward:
    case ForwardClientCert::kSanitizeSet:
      break;
  }
  if (!mtls) {
    request.remove(kClientCertHeader);
    return;
  }
  std::string value;
  if (config.mode == ForwardClientCert::kAppendForward) {
    // Every element the client sent, in order, then ours.
    for (const auto& [name, existing] : request.entries()) {
      if (name != kClientCertHeader || existing.empty()) continue;
      value += existing;
      value += ',';
    }
  }
  value += clientCertElement(*ssl, config.details);
  request.set(kClientCertHeader, value);
}

}  // namespace remora::filters::hcm
