// Connection settings: in-cluster (environment and service-account folder) and kubeconfig
// (current context; CA, token, token file and client certificate as files or inline data),
// with errors naming the variable, file or field. The client certificate read from a
// kubeconfig is also loaded by the HTTPS client.
#include "source/pilot/kubernetes/connection_config.h"

#include <gtest/gtest.h>
#include <openssl/evp.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>

#include "source/pilot/kubernetes/https_client.h"
#include "test/pilot/kubernetes/test_certificates.h"

namespace remora::pilot::kubernetes {
namespace {

class ConnectionConfigTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const char* tmp = std::getenv("TEST_TMPDIR");
    dir_ = std::filesystem::path(tmp ? tmp : "/tmp") /
           ::testing::UnitTest::GetInstance()->current_test_info()->name();
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
  }
  std::string write(const std::string& name, const std::string& content) {
    std::filesystem::path path = dir_ / name;
    std::filesystem::create_directories(path.parent_path());
    std::ofstream(path) << content;
    return path.string();
  }
  static std::string base64(const std::string& data) {
    std::string out(4 * ((data.size() + 2) / 3) + 1, '\0');
    int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                            reinterpret_cast<const unsigned char*>(data.data()),
                            static_cast<int>(data.size()));
    out.resize(static_cast<size_t>(n));
    return out;
  }
  std::filesystem::path dir_;
};

std::function<const char*(const char*)> environment(std::map<std::string, std::string> vars) {
  return [vars = std::move(vars)](const char* name) -> const char* {
    auto found = vars.find(name);
    return found == vars.end() ? nullptr : found->second.c_str();
  };
}

TEST_F(ConnectionConfigTest, InClusterReadsEnvironmentAndServiceAccount) {
  write("sa/token", "tok-1\n");
  write("sa/ca.crt", "CA PEM");
  write("sa/namespace", "istio-system\n");
  auto connection = inClusterConnection(
      (dir_ / "sa").string(),
      environment({{"KUBERNETES_SERVICE_HOST", "10.96.0.1"}, {"KUBERNETES_SERVICE_PORT", "6443"}}));
  ASSERT_TRUE(connection.ok()) << connection.error();
  EXPECT_EQ(connection->host, "10.96.0.1");
  EXPECT_EQ(connection->port, 6443);
  EXPECT_EQ(connection->token_file, (dir_ / "sa/token").string());
  EXPECT_EQ(connection->ca_pem, "CA PEM");
  EXPECT_EQ(connection->ns, "istio-system");
  EXPECT_EQ(connection->url(), "https://10.96.0.1:6443");

  auto v6 = inClusterConnection(
      (dir_ / "sa").string(),
      environment({{"KUBERNETES_SERVICE_HOST", "fd00::1"}, {"KUBERNETES_SERVICE_PORT", "443"}}));
  ASSERT_TRUE(v6.ok()) << v6.error();
  EXPECT_EQ(v6->url(), "https://[fd00::1]:443");
}

TEST_F(ConnectionConfigTest, InClusterErrorsNameTheVariableOrFile) {
  write("sa/token", "tok");
  auto no_host = inClusterConnection((dir_ / "sa").string(), environment({}));
  ASSERT_FALSE(no_host.ok());
  EXPECT_EQ(no_host.error(), "KUBERNETES_SERVICE_HOST is not set (not running in a pod?)");

  auto env =
      environment({{"KUBERNETES_SERVICE_HOST", "10.96.0.1"}, {"KUBERNETES_SERVICE_PORT", "443"}});
  auto no_ca = inClusterConnection((dir_ / "sa").string(), env);
  ASSERT_FALSE(no_ca.ok());
  EXPECT_EQ(no_ca.error(), (dir_ / "sa/ca.crt").string() + ": No such file or directory");

  auto no_token = inClusterConnection((dir_ / "nothing").string(), env);
  ASSERT_FALSE(no_token.ok());
  EXPECT_EQ(no_token.error(), (dir_ / "nothing/token").string() + ": No such file or directory");

  auto bad_port = inClusterConnection(
      (dir_ / "sa").string(),
      environment({{"KUBERNETES_SERVICE_HOST", "10.96.0.1"}, {"KUBERNETES_SERVICE_PORT", "x"}}));
  ASSERT_FALSE(bad_port.ok());
  EXPECT_EQ(bad_port.error(), "KUBERNETES_SERVICE_HOST/PORT: bad port \"x\"");
}

TEST_F(ConnectionConfigTest, KubeconfigWithCaFileAndTokenFile) {
  write("certs/ca.pem", "CA FROM FILE");
  write("token", "rotating\n");
  std::string path = write("kubeconfig", R"(apiVersion: v1
kind: Config
current-context: prod
contexts:
- name: dev
  context: {cluster: other, user: nobody}
- name: prod
  context: {cluster: main, user: pilot}
clusters:
- name: other
  cluster: {server: "https://other:1"}
- name: main
  cluster:
    server: https://api.example.com:6443/
    certificate-authority: certs/ca.pem
users:
- name: pilot
  user:
    tokenFile: token
)");
  auto connection = kubeconfigConnection(path);
  ASSERT_TRUE(connection.ok()) << connection.error();
  EXPECT_EQ(connection->host, "api.example.com");
  EXPECT_EQ(connection->port, 6443);
  EXPECT_EQ(connection->ca_pem, "CA FROM FILE");
  EXPECT_EQ(connection->token_file, (dir_ / "token").string());
  EXPECT_TRUE(connection->token.empty());
}

TEST_F(ConnectionConfigTest, KubeconfigWithInlineDataTokenAndClientCertificate) {
  testing::TestPki pki = testing::makeTestPki();
  ASSERT_FALSE(pki.ca_pem.empty());
  std::string path = write("config", R"(current-context: c
contexts: [{name: c, context: {cluster: k, user: u}}]
clusters:
- name: k
  cluster:
    server: https://[::1]
    certificate-authority-data: )" + base64(pki.ca_pem) +
                                         R"(
users:
- name: u
  user:
    token: static-token
    client-certificate-data: )" + base64(pki.client_cert_pem) +
                                         R"(
    client-key-data: )" + base64(pki.client_key_pem) +
                                         "\n");
  auto connection = kubeconfigConnection(path);
  ASSERT_TRUE(connection.ok()) << connection.error();
  EXPECT_EQ(connection->host, "::1");
  EXPECT_EQ(connection->port, 443);
  EXPECT_EQ(connection->ca_pem, pki.ca_pem);
  EXPECT_EQ(connection->token, "static-token");
  EXPECT_EQ(connection->client_cert_pem, pki.client_cert_pem);
  EXPECT_EQ(connection->client_key_pem, pki.client_key_pem);
  // The TLS client accepts what was read: the CA parses and the key matches the certificate.
  auto client = HttpsClient::create(connection.value(), nullptr);
  EXPECT_TRUE(client.ok()) << client.error();

  ClusterConnection mismatched = connection.value();
  mismatched.client_key_pem = pki.server_key_pem;
  auto refused = HttpsClient::create(mismatched, nullptr);
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.error().find("client key does not match"), std::string::npos)
      << refused.error();
}

TEST_F(ConnectionConfigTest, KubeconfigErrorsNameTheFileAndField) {
  auto expectError = [&](const std::string& yaml, const std::string& message) {
    std::string path = write("bad", yaml);
    auto connection = kubeconfigConnection(path);
    ASSERT_FALSE(connection.ok()) << yaml;
    EXPECT_EQ(connection.error(), path + ": " + message);
  };
  const std::string context =
      "current-context: c\ncontexts: [{name: c, context: {cluster: k, user: u}}]\n";
  expectError("clusters: []\n", "current-context: not set");
  expectError("current-context: x\ncontexts: []\n", "contexts: no context named \"x\"");
  expectError(context + "clusters: [{name: k, cluster: {server: 'http://a'}}]\n",
              "clusters[0].cluster.server: must start with https://");
  expectError(context + "clusters: [{name: k, cluster: {server: 'https://a'}}]\n",
              "clusters[0].cluster.certificate-authority: not set (pilot needs the cluster CA)");
  expectError(context +
                  "clusters: [{name: k, cluster: {server: 'https://a', "
                  "certificate-authority-data: 'a*b'}}]\n",
              "clusters[0].cluster.certificate-authority-data: not base64 (length is not a "
              "multiple of 4)");
  expectError(context +
                  "clusters: [{name: k, cluster: {server: 'https://a', "
                  "certificate-authority: /nonexistent/ca.pem}}]\n",
              "clusters[0].cluster.certificate-authority: /nonexistent/ca.pem: No such file or "
              "directory");
  expectError(context +
                  "clusters: [{name: k, cluster: {server: 'https://a', "
                  "certificate-authority-data: 'QUJD'}}]\n"
                  "users: [{name: u, user: {client-certificate-data: 'QUJD'}}]\n",
              "users[0].user: client-certificate and client-key must be given together");
  expectError(context +
                  "clusters: [{name: k, cluster: {server: 'https://a', "
                  "insecure-skip-tls-verify: true}}]\n",
              "clusters[0].cluster.insecure-skip-tls-verify: not supported: pilot always "
              "verifies the API server");

  auto missing = kubeconfigConnection((dir_ / "none").string());
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error(), (dir_ / "none").string() + ": No such file or directory");
}

}  // namespace
}  // namespace remora::pilot::kubernetes
