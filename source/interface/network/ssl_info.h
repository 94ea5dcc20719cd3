#pragma once

// What a TLS connection learned in its handshake, for filters that act on the peer's identity
// (authorization, access logs, metrics labels, the client-certificate header). Valid once the
// handshake has finished; read on the connection's thread.

#include <functional>
#include <string>
#include <vector>

namespace remora::network {

struct SslConnectionInfo {
  // "TLSv1.2" or "TLSv1.3".
  std::string version;
  std::string cipher;
  // The server name the client asked for (SNI); empty when none.
  std::string server_name;
  // The protocol agreed by ALPN; empty when none.
  std::string alpn;
  bool peer_certificate_presented = false;
  // Whether the peer's certificate chain was verified against the trust bundle.
  bool peer_certificate_validated = false;
  std::vector<std::string> peer_uri_sans;
  std::vector<std::string> peer_dns_sans;
  // The first spiffe:// URI SAN of the peer's (validated) certificate: its workload identity,
  // e.g. spiffe://cluster.local/ns/default/sa/productpage. Empty when none.
  std::string peer_principal;
  bool session_resumed = false;
  // Of the peer's certificate, when it presented one: the lowercase hex SHA-256 of its DER
  // encoding, and its subject (RFC 2253).
  std::string peer_certificate_sha256;
  std::string peer_subject;
  // The first URI SAN of our own certificate (our SPIFFE ID); empty when none.
  std::string local_uri_san;
  // PEM of the peer's certificate, followed (with_chain) by the rest of the chain it sent. Made
  // on demand: only the x-forwarded-client-cert Cert/Chain fields need it. Null without a peer
  // certificate; valid as long as this struct.
  std::function<std::string(bool with_chain)> peer_certificates_pem;
};

}  // namespace remora::network
