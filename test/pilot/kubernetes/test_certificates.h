#pragma once

// A throwaway PKI for the fake API server: a CA, a server certificate for 127.0.0.1 and
// localhost, and a client certificate, all EC P-256 PEM made in memory.

#include <string>

namespace remora::pilot::kubernetes::testing {

struct TestPki {
  std::string ca_pem;
  std::string server_cert_pem;
  std::string server_key_pem;
  std::string client_cert_pem;
  std::string client_key_pem;
};

// Aborts the test binary (via a failed assertion in the caller's check) on OpenSSL failure:
// the returned fields are then empty.
TestPki makeTestPki();

}  // namespace remora::pilot::kubernetes::testing
