#pragma once

// A certificate as the admin page /certs shows it.

#include <chrono>
#include <string>

#include "source/common/crypto/certificate_info.h"

namespace remora::tls {

// The JSON object for one certificate: subject, issuer, serial, SANs ("URI:spiffe://...",
// "DNS:name"), validity and the seconds left at `now`.
std::string certificateJson(const crypto::CertificateInfo& info,
                            std::chrono::system_clock::time_point now);

}  // namespace remora::tls
