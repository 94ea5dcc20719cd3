#pragma once

// x-forwarded-client-cert (XFCC): the header that tells the application who the proxy's mTLS
// peer was. Only the proxy may vouch for that, so what a client sends is removed or passed on
// as configured (Envoy's forward_client_cert_details), and the proxy's own element comes from
// the peer certificate the handshake verified, in Envoy's format:
//   By=<our URI SAN>;Hash=<sha256 hex of the peer's DER>;Cert="<url-encoded PEM>";
//   Chain="<url-encoded PEM>";Subject="<RFC 2253>";URI=<peer URI SAN>;DNS=<peer DNS SAN>
// Elements of several hops are separated by ",".

#include <string>
#include <string_view>

#include "source/interface/http/header_map.h"
#include "source/interface/network/ssl_info.h"

namespace remora::filters::hcm {

inline constexpr std::string_view kClientCertHeader = "x-forwarded-client-cert";

enum class ForwardClientCert {
  kSanitize,           // removed from every request (the default)
  kForwardOnly,        // passed on over mutual TLS, removed otherwise
  kAppendForward,      // over mutual TLS: the proxy's element appended; removed otherwise
  kSanitizeSet,        // over mutual TLS: replaced by the proxy's element; removed otherwise
  kAlwaysForwardOnly,  // passed on whatever the connection
};

// Which optional fields the proxy's element carries; By and Hash always (when known).
struct ClientCertDetails {
  bool subject = false;
  bool cert = false;
  bool chain = false;
  bool dns = false;
  bool uri = false;
};

struct ClientCertConfig {
  ForwardClientCert mode = ForwardClientCert::kSanitize;
  ClientCertDetails details;
};

// The proxy's element for a connection whose peer certificate was verified.
std::string clientCertElement(const network::SslConnectionInfo& ssl,
                              const ClientCertDetails& details);

// Applies `config` to a request that arrived on a connection with `ssl` (null: plaintext).
// Mutual TLS means a peer certificate the handshake verified; nothing is ever set without one.
void applyClientCertHeader(http::HeaderMap& request, const network::SslConnectionInfo* ssl,
                           const ClientCertConfig& config);

}  // namespace remora::filters::hcm
