#pragma once

// What an operator wants to see of a certificate in use (admin /certs, expiry metrics):
// subject, issuer, serial, SANs and validity.

#include <ctime>
#include <string>
#include <vector>

namespace remora::tls {

struct CertificateSummary {
  std::string subject;
  std::string issuer;
  std::string serial;             // hex
  std::vector<std::string> sans;  // "URI:spiffe://...", "DNS:name", "IP:10.0.0.1", "EMAIL:..."
  std::time_t not_before = 0;
  std::time_t not_after = 0;
};

// Every certificate of a PEM bundle, in order; unreadable ones are skipped.
std::vector<CertificateSummary> summarizePem(const std::string& pem);

// The admin page's JSON object for one certificate, with the seconds left at `now`.
std::string certificateJson(const CertificateSummary& summary, std::time_t now);

}  // namespace remora::tls
