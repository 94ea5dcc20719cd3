#pragma once

// Helpers shared by the CA's tests: temp files, the openssl command-line tool, waiting on a
// condition with a deadline, and a real gRPC C++ client for the CA's TLS port.

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>

#include <grpcpp/grpcpp.h>

#include "remora/service/ca/v1/ca.grpc.pb.h"

namespace remora::pilot::ca::test {

// A new empty directory under $TEST_TMPDIR (or /tmp).
std::string makeTempDir();
void writeFile(const std::string& path, const std::string& contents);
// The file's contents; empty if it cannot be read.
std::string readFile(const std::string& path);

struct CommandResult {
  int exit_code = -1;
  std::string output;  // stdout and stderr together
};
// Runs `command` with /bin/sh, capturing its output.
CommandResult runCommand(const std::string& command);

// Polls `condition` every 20 ms until it holds (true) or `timeout` passes (false).
bool waitFor(const std::function<bool()>& condition,
             std::chrono::milliseconds timeout = std::chrono::seconds(10));

// How many PEM certificates `pem` holds.
int countCertificates(const std::string& pem);

// Calls CreateCertificate on 127.0.0.1:`port` over TLS, verifying the server with
// `trusted_roots_pem` and the name `server_name` (empty: the IP itself), sending
// `authorization: Bearer <token>` unless `token` is empty. A new connection each call; one
// that cannot be made (e.g. the server's certificate does not verify) gives UNAVAILABLE.
grpc::Status createCertificate(uint16_t port, const std::string& trusted_roots_pem,
                               const std::string& token, const std::string& csr,
                               int64_t validity_seconds,
                               remora::service::ca::v1::CertificateResponse& response,
                               const std::string& server_name = "");

}  // namespace remora::pilot::ca::test
