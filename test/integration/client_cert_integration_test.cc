// Identity headers through the real remora process (issue 14, "forged identity headers"): a
// client sends a forged x-forwarded-client-cert (and an x-remora-* header). Over mutual TLS with
// SANITIZE_SET (what pilot configures inbound) the application receives only the proxy's
// element, naming the proxy (By), the client's real SPIFFE ID and the SHA-256 of the client's
// certificate as `openssl x509 -outform der | sha256sum` computes it, over HTTP/1.1 and HTTP/2;
// on a plaintext connection, and with the default (SANITIZE), it receives no XFCC at all.

#include <mutex>

#include "gtest/gtest.h"
#include "test/integration/fake_http_upstream.h"
#include "test/integration/proxy_process.h"

namespace remora::test {
namespace {

constexpr const char* kReviews = "spiffe://cluster.local/ns/default/sa/reviews";
constexpr const char* kProductpage = "spiffe://cluster.local/ns/default/sa/productpage";
constexpr const char* kForged =
    "By=spiffe://evil;Hash=00;URI=spiffe://cluster.local/ns/kube-system/sa/admin";

CommandResult sh(const std::string& script) { return runCommand({"/bin/sh", "-c", script}); }

class ClientCertIntegrationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = makeTempDir();
    run("openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ca.key "
        "-out ca.crt -days 2 -subj /O=remora-test/CN=xfcc-root -addext "
        "basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign 2>&1");
    issue("reviews", kReviews, ",DNS:reviews.local");
    issue("productpage", kProductpage, "");
    auto hash = sh("openssl x509 -in " + dir_ + "/productpage.crt -outform der | sha256sum");
    ASSERT_EQ(hash.exit_code, 0) << hash.output;
    client_hash_ = hash.output.substr(0, 64);

    app_ = std::make_unique<FakeUpstream>(httpServe([this](const FakeRequest& request) {
      std::lock_guard<std::mutex> lock(mutex_);
      heads_.push_back(request.head);
      return httpResponse(200, "ok");
    }));
    std::string error;
    ASSERT_TRUE(proxy_.start(config(), {"--concurrency", "1"}, error)) << error;
  }

  void run(const std::string& script) {
    auto result = sh("cd " + dir_ + " && " + script);
    ASSERT_EQ(result.exit_code, 0) << script << "\n" << result.output;
  }
  void issue(const std::string& name, const std::string& uri, const std::string& more) {
    run("printf 'subjectAltName=URI:" + uri + more +
        "\\nextendedKeyUsage=serverAuth,clientAuth\\n' > " + name +
        ".ext && openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout " + name +
        ".key -out " + name + ".csr -subj /CN=" + name + " 2>&1 && openssl x509 -req -in " + name +
        ".csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 2 -out " + name + ".crt -extfile " +
        name + ".ext 2>&1");
  }

  std::string listener(const std::string& name, const std::string& xfcc, bool mtls) const {
    std::string out = R"(
  - name: )" + name + R"(
    address: {socket_address: {address: 127.0.0.1, port_value: 0}}
    filter_chains:
    - filters:
      - name: remora.filters.network.http_connection_manager
        typed_config:
          "@type": type.googleapis.com/remora.extensions.filters.network.http_connection_manager.v1.HttpConnectionManager
          stat_prefix: )" +
                      name + "\n" + xfcc + R"(
          route_config:
            virtual_hosts:
            - {name: all, domains: ["*"], routes: [{match: {prefix: /}, route: {cluster: app}}]}
          http_filters:
          - name: remora.filters.http.router
)";
    if (!mtls) return out;
    return out + R"(      transport_socket:
        name: remora.transport_sockets.tls
        typed_config:
          "@type": type.googleapis.com/remora.extensions.transport_sockets.tls.v1.DownstreamTlsContext
          require_client_certificate: true
          common_tls_context:
            tls_certificates:
            - certificate_chain: {filename: )" +
           dir_ + R"(/reviews.crt}
              private_key: {filename: )" +
           dir_ + R"(/reviews.key}
            validation_context:
              trusted_ca: {filename: )" +
           dir_ + R"(/ca.crt}
            alpn_protocols: [h2, http/1.1]
)";
  }

  std::string config() const {
    const std::string sanitize_set =
        "          forward_client_cert_details: SANITIZE_SET\n"
        "          set_current_client_cert_details: {uri: true}\n";
    return "admin: {address: {socket_address: {address: 127.0.0.1, port_value: 0}}}\n"
           "static_resources:\n  listeners:" +
           listener("inbound_mtls", sanitize_set, true) +
           listener("inbound_plain", sanitize_set, false) + listener("outbound", "", false) +
           "  clusters:\n  - name: app\n    load_assignment: {endpoints: [{lb_endpoints: "
           "[{endpoint: {address: {socket_address: {address: 127.0.0.1, port_value: " +
           std::to_string(app_->port()) + "}}}}]}]}\n";
  }

  // The head the application received for one curl request with forged headers.
  std::string send(const std::string& url, std::vector<std::string> extra) {
    std::vector<std::string> argv = {"/usr/bin/curl",
                                     "-sS",
                                     "--max-time",
                                     "5",
                                     "-o",
                                     "/dev/null",
                                     "-w",
                                     "%{http_code}",
                                     "-H",
                                     std::string("X-Forwarded-Client-Cert: ") + kForged,
                                     "-H",
                                     "X-Remora-Peer-Principal: spiffe://forged"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    argv.push_back(url);
    size_t before = heads().size();
    auto result = runCommand(argv);
    EXPECT_EQ(result.output, "200") << url;
    auto all = heads();
    if (all.size() != before + 1) return "";
    return all.back();
  }
  std::vector<std::string> heads() {
    std::lock_guard<std::mutex> lock(mutex_);
    return heads_;
  }
  std::vector<std::string> mtlsArgs(const std::string& protocol) {
    uint16_t port = proxy_.listenerPort("inbound_mtls");
    return {protocol,
            "--cacert",
            dir_ + "/ca.crt",
            "--cert",
            dir_ + "/productpage.crt",
            "--key",
            dir_ + "/productpage.key",
            "--resolve",
            "reviews.local:" + std::to_string(port) + ":127.0.0.1"};
  }

  std::string dir_;
  std::string client_hash_;
  std::mutex mutex_;
  std::vector<std::string> heads_;
  std::unique_ptr<FakeUpstream> app_;
  ProxyProcess proxy_;
};

// Every x-forwarded-client-cert line of a request head.
std::vector<std::string> xfccLines(const std::string& head) {
  std::vector<std::string> out;
  size_t at = 0;
  while ((at = head.find("\r\n", at)) != std::string::npos) {
    at += 2;
    std::string line = head.substr(at, head.find("\r\n", at) - at);
    std::string lower = line;
    for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (lower.rfind("x-forwarded-client-cert:", 0) == 0) out.push_back(line.substr(24));
  }
  for (auto& value : out) value.erase(0, value.find_first_not_of(' '));
  return out;
}

TEST_F(ClientCertIntegrationTest, MutualTlsGetsOnlyTheProxysElement) {
  const std::string expected =
      std::string("By=") + kReviews + ";Hash=" + client_hash_ + ";URI=" + kProductpage;
  uint16_t port = proxy_.listenerPort("inbound_mtls");
  std::string url = "https://reviews.local:" + std::to_string(port) + "/x";
  for (const char* protocol : {"--http1.1", "--http2"}) {
    std::string head = send(url, mtlsArgs(protocol));
    ASSERT_FALSE(head.empty()) << protocol;
    auto xfcc = xfccLines(head);
    ASSERT_EQ(xfcc.size(), 1u) << protocol << "\n" << head;
    EXPECT_EQ(xfcc[0], expected) << protocol;
    EXPECT_EQ(head.find("spiffe://forged"), std::string::npos) << head;
    EXPECT_EQ(head.find("kube-system"), std::string::npos) << head;
  }
}

TEST_F(ClientCertIntegrationTest, PlaintextAndTheDefaultGetNone) {
  for (const char* name : {"inbound_plain", "outbound"}) {
    std::string url = "http://127.0.0.1:" + std::to_string(proxy_.listenerPort(name)) + "/x";
    std::string head = send(url, {});
    ASSERT_FALSE(head.empty()) << name;
    EXPECT_TRUE(xfccLines(head).empty()) << name << "\n" << head;
    EXPECT_EQ(head.find("spiffe://forged"), std::string::npos) << name << "\n" << head;
  }
}

}  // namespace
}  // namespace remora::test
