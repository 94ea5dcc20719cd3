// The real remora-pilot binary as an operator runs it: a CA directory it fills on first start,
// the trust bundle file proxies mount, tokens from `remora-pilot mint-token`, a gRPC C++ client
// and `openssl s_client` verifying the CA port with that bundle, and a root rotation done by
// replacing the CA directory's files with a root made by the openssl tool.

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <regex>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "source/common/crypto/certificate_info.h"
#include "source/common/crypto/csr.h"
#include "source/common/crypto/key_pair.h"
#include "test/pilot/ca/test_util.h"

namespace remora::pilot::ca {
namespace {

using remora::service::ca::v1::CertificateResponse;
using ::testing::HasSubstr;

constexpr char kPilot[] = "source/pilot/remora-pilot";
constexpr char kIdentity[] = "spiffe://example.org/ns/shop/sa/cart";

class PilotProcess {
 public:
  ~PilotProcess() { stop(SIGKILL); }

  void start(const std::vector<std::string>& args, const std::string& log_path) {
    log_path_ = log_path;
    pid_ = ::fork();
    if (pid_ == 0) {
      const int fd = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
      ::dup2(fd, 1);
      ::dup2(fd, 2);
      std::vector<char*> argv;
      argv.push_back(const_cast<char*>(kPilot));
      for (const std::string& arg : args) argv.push_back(const_cast<char*>(arg.c_str()));
      argv.push_back(nullptr);
      ::execv(kPilot, argv.data());
      ::_exit(127);
    }
  }

  // Signals pilot and waits for it; its exit status, or -1 if it was not running.
  int stop(int signal) {
    if (pid_ <= 0) return -1;
    ::kill(pid_, signal);
    int status = 0;
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
    return status;
  }

  std::string log() const { return test::readFile(log_path_); }

  // The CA port from the "serving certificates on IP:PORT" line, once it is logged.
  uint16_t waitForCaPort() const {
    uint16_t port = 0;
    test::waitFor([&] {
      std::smatch match;
      const std::string text = log();
      if (!std::regex_search(text, match,
                             std::regex(R"(serving certificates on 127\.0\.0\.1:(\d+))"))) {
        return false;
      }
      port = static_cast<uint16_t>(std::stoi(match[1]));
      return true;
    });
    return port;
  }

 private:
  pid_t pid_ = -1;
  std::string log_path_;
};

// `openssl s_client` against the CA port, verifying it with `ca_file` and the host name. The
// gRPC server may close the TCP connection without a close_notify once s_client hangs up,
// which OpenSSL 3 would otherwise count as an error.
test::CommandResult sClient(uint16_t port, const std::string& ca_file) {
  return test::runCommand("openssl s_client -connect 127.0.0.1:" + std::to_string(port) +
                          " -servername remora-pilot.istio-system.svc -verify_hostname "
                          "remora-pilot.istio-system.svc -CAfile " +
                          ca_file +
                          " -verify_return_error -ignore_unexpected_eof -brief </dev/null");
}

std::string newCsr() {
  auto key = crypto::KeyPair::generate();
  auto csr = crypto::createCsr(*key, kIdentity);
  EXPECT_TRUE(csr.ok()) << csr.error();
  return *csr;
}

class PilotCaIntegrationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = test::makeTempDir();
    ASSERT_EQ(::mkdir((dir_ + "/manifests").c_str(), 0755), 0);
    // The token issuer's key pair, made by the openssl tool as an operator would.
    auto made = test::runCommand(
        "openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 "
        "-out " +
        dir_ + "/sa.key && openssl pkey -in " + dir_ + "/sa.key -pubout -out " + dir_ + "/sa.pub");
    ASSERT_EQ(made.exit_code, 0) << made.output;
  }

  std::string mintToken() {
    auto minted = test::runCommand(std::string(kPilot) + " mint-token --key " + dir_ +
                                   "/sa.key --namespace shop --service-account cart --ttl 10m");
    EXPECT_EQ(minted.exit_code, 0) << minted.output;
    std::string token = minted.output;
    while (!token.empty() && token.back() == '\n') token.pop_back();
    return token;
  }

  std::string dir_;
};

TEST_F(PilotCaIntegrationTest, SignsOverTlsAndRotatesTheRootFromTheCaDir) {
  const std::string ca_dir = dir_ + "/cacerts";
  const std::string bundle_path = dir_ + "/root-cert.pem";
  PilotProcess pilot;
  pilot.start(
      {"--manifests", dir_ + "/manifests", "--listen", "127.0.0.1:0", "--monitoring", "127.0.0.1:0",
       "--ca-listen", "127.0.0.1:0", "--ca-dir", ca_dir, "--root-cert-out", bundle_path,
       "--token-public-key", dir_ + "/sa.pub", "--trust-domain", "example.org"},
      dir_ + "/pilot.log");
  const uint16_t port = pilot.waitForCaPort();
  ASSERT_NE(port, 0) << pilot.log();

  // First start: the root was generated into the CA dir and published as the bundle.
  const std::string first_root = test::readFile(ca_dir + "/ca-cert.pem");
  EXPECT_EQ(test::readFile(bundle_path), first_root);
  struct stat key_info {};
  ASSERT_EQ(::stat((ca_dir + "/ca-key.pem").c_str(), &key_info), 0);
  EXPECT_EQ(key_info.st_mode & 0777, 0600u);

  const std::string token = mintToken();
  CertificateResponse response;
  grpc::Status status =
      test::createCertificate(port, test::readFile(bundle_path), token, newCsr(), 0, response);
  ASSERT_TRUE(status.ok()) << status.error_message() << pilot.log();
  ASSERT_EQ(response.cert_chain_size(), 1);
  auto leaf = crypto::parseCertificateChain(response.cert_chain(0));
  ASSERT_TRUE(leaf.ok());
  EXPECT_EQ(leaf->front().uriSans(), std::vector<std::string>{kIdentity});
  EXPECT_TRUE(crypto::verifyChain(response.cert_chain(0), test::readFile(bundle_path)).ok());
  auto s_client = sClient(port, bundle_path);
  EXPECT_EQ(s_client.exit_code, 0) << s_client.output;
  EXPECT_THAT(s_client.output, HasSubstr("Verification: OK"));

  // The operator replaces the root with one made by the openssl tool.
  const std::string made =
      test::runCommand(
          "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 365 "
          "-subj '/O=remora/CN=second root' -addext basicConstraints=critical,CA:TRUE "
          "-addext keyUsage=critical,keyCertSign,cRLSign -keyout " +
          dir_ + "/new-key.pem -out " + dir_ + "/new-cert.pem")
          .output;
  const std::string new_root = test::readFile(dir_ + "/new-cert.pem");
  ASSERT_EQ(test::countCertificates(new_root), 1) << made;
  test::writeFile(ca_dir + "/ca-cert.pem.new", new_root);
  test::writeFile(ca_dir + "/ca-key.pem.new", test::readFile(dir_ + "/new-key.pem"));
  ASSERT_EQ(std::rename((ca_dir + "/ca-cert.pem.new").c_str(), (ca_dir + "/ca-cert.pem").c_str()),
            0);
  ASSERT_EQ(std::rename((ca_dir + "/ca-key.pem.new").c_str(), (ca_dir + "/ca-key.pem").c_str()), 0);

  // The bundle now holds both roots: the new one signs, the old one still verifies.
  ASSERT_TRUE(test::waitFor([&] {
    return test::countCertificates(test::readFile(bundle_path)) == 2;
  })) << pilot.log();
  const std::string bundle = test::readFile(bundle_path);
  EXPECT_NE(bundle.find(first_root), std::string::npos);
  EXPECT_TRUE(crypto::verifyChain(response.cert_chain(0), bundle).ok());
  EXPECT_THAT(pilot.log(), HasSubstr("ca: rotated to the root"));

  // The CA port presents a certificate from the new root: proxies trusting only the new
  // bundle, or even only the new root, still connect.
  ASSERT_TRUE(test::waitFor([&] {
    CertificateResponse ignored;
    return test::createCertificate(port, new_root, token, newCsr(), 0, ignored).ok();
  })) << pilot.log();
  response.Clear();
  status = test::createCertificate(port, bundle, token, newCsr(), 3600, response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_TRUE(crypto::verifyChain(response.cert_chain(0), new_root).ok());
  EXPECT_FALSE(crypto::verifyChain(response.cert_chain(0), first_root).ok());
  EXPECT_EQ(response.trust_bundle_size(), 2);
  s_client = sClient(port, bundle_path);
  EXPECT_EQ(s_client.exit_code, 0) << s_client.output;
  EXPECT_THAT(s_client.output, HasSubstr("Verification: OK"));

  // A wrong token is refused; pilot stops cleanly.
  EXPECT_EQ(test::createCertificate(port, bundle, token + "x", newCsr(), 0, response).error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
  const int exit_status = pilot.stop(SIGTERM);
  EXPECT_TRUE(WIFEXITED(exit_status) && WEXITSTATUS(exit_status) == 0) << pilot.log();
}

TEST_F(PilotCaIntegrationTest, MintTokenAndBadFlagsAreReported) {
  auto missing = test::runCommand(std::string(kPilot) + " mint-token --key " + dir_ + "/sa.key");
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_THAT(missing.output, HasSubstr("--key, --namespace and --service-account are required"));

  auto overlap = test::runCommand(std::string(kPilot) + " --manifests " + dir_ +
                                  "/manifests --listen 127.0.0.1:0 --monitoring 127.0.0.1:0 "
                                  "--ca-listen 127.0.0.1:0 --root-overlap 1h");
  EXPECT_EQ(overlap.exit_code, 1);
  EXPECT_THAT(overlap.output, HasSubstr("--root-overlap (1h) must be at least "
                                        "--max-workload-cert-ttl (48h)"));

  auto bad_ttl = test::runCommand(std::string(kPilot) + " --manifests " + dir_ +
                                  "/manifests --workload-cert-ttl 1y");
  EXPECT_EQ(bad_ttl.exit_code, 1);
  EXPECT_THAT(bad_ttl.output, HasSubstr("--workload-cert-ttl: duration \"1y\""));
}

}  // namespace
}  // namespace remora::pilot::ca
