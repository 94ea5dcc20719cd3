#pragma once

// Certificates for tests, made by the openssl command line (so the proxy is checked against
// material it did not produce itself).

#include <string>

namespace remora::test {

// Writes <dir>/<name>.crt and <dir>/<name>.key: a self-signed EC P-256 certificate for
// `dns_name` (CN and DNS SAN), valid two days. Returns "" or openssl's output on failure.
std::string makeSelfSignedCertificate(const std::string& dir, const std::string& name,
                                      const std::string& dns_name);

}  // namespace remora::test
