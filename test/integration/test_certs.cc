#include "test/integration/test_certs.h"

#include "test/integration/proxy_process.h"

namespace remora::test {

std::string makeSelfSignedCertificate(const std::string& dir, const std::string& name,
                                      const std::string& dns_name) {
  auto made = runCommand({"/bin/sh", "-c",
                          "cd " + dir +
                              " && openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 "
                              "-nodes -keyout " +
                              name + ".key -out " + name + ".crt -days 2 -subj /CN=" + name +
                              " -addext subjectAltName=DNS:" + dns_name + " 2>&1"});
  return made.exit_code == 0 ? "" : made.output;
}

}  // namespace remora::test
