#pragma once

// Helpers shared by the crypto tests: temp files, running the openssl command-line tool (an
// independent implementation to cross-check our output against), and PEM/DER surgery for
// tampering tests.

#include <string>
#include <string_view>

#include "source/common/crypto/openssl_ptr.h"

namespace remora::crypto::test {

// Writes `contents` to a new file named `name` under $TEST_TMPDIR (or /tmp) and returns its path.
std::string writeTempFile(std::string_view name, std::string_view contents);

// The contents of the file at `path`; empty if it cannot be read.
std::string readFile(const std::string& path);

struct CommandResult {
  int exit_code = -1;
  std::string output;  // stdout and stderr together
};

// Runs `command` with /bin/sh, capturing its output.
CommandResult runCommand(const std::string& command);

// The DER bytes of the first PEM block in `pem`, and back. Empty on failure.
std::string pemToDer(std::string_view pem);
std::string derToPem(std::string_view der, const std::string& type);

// The first certificate in `pem`, or null.
X509Ptr parseCert(std::string_view pem);

}  // namespace remora::crypto::test
