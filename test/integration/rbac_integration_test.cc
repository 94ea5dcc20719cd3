// Authorization through the real remora process. An mTLS listener whose HTTP filters let only
// productpage's SPIFFE ID GET /reviews: curl with productpage's certificate gets through and
// the application sees that identity in x-remora-peer-principal (a forged value replaced);
// another service account's certificate and productpage's POST get 403 "RBAC: access denied"
// and never reach the upstream. TCP chains with the network RBAC filter in front of tcp_proxy:
// an allowed mTLS peer echoes, a denied one (or a plaintext client, which has no identity) is
// closed without the upstream ever accepting a connection. The decision counters show it all
// in /stats/prometheus, which promtool accepts. Certificates come from the openssl CLI.

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <atomic>
#include <csignal>
#include <sstream>

#include "gtest/gtest.h"
#include "test/integration/fake_http_upstream.h"
#include "test/integration/fake_upstream.h"
#include "test/integration/proxy_process.h"

namespace remora::test {
namespace {

using std::chrono::seconds;

constexpr const char* kProductpage = "spiffe://cluster.local/ns/default/sa/productpage";
constexpr const char* kRatings = "spiffe://cluster.local/ns/default/sa/ratings";
constexpr const char* kReviews = "spiffe://cluster.local/ns/default/sa/reviews";
constexpr const char* kPrincipalHeader = "x-remora-peer-principal";

CommandResult sh(const std::string& script) { return runCommand({"/bin/sh", "-c", script}); }

// A CA and one certificate per workload, each with its SPIFFE ID as URI SAN.
class Certificates {
 public:
  explicit Certificates(std::string dir) : dir_(std::move(dir)) {
    run("openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ca.key "
        "-out ca.crt -days 30 -subj /O=remora-test/CN=rbac-root -addext "
        "basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign 2>&1");
    issue("reviews", kReviews, ",DNS:reviews.local");
    issue("productpage", kProductpage, "");
    issue("ratings", kRatings, "");
  }
  std::string path(const std::string& file) const { return dir_ + "/" + file; }

 private:
  void run(const std::string& script) {
    auto result = sh("cd " + dir_ + " && " + script);
    ASSERT_EQ(result.exit_code, 0) << script << "\n" << result.output;
  }
  void issue(const std::string& name, const std::string& spiffe_id, const std::string& more) {
    run("printf 'subjectAltName=URI:" + spiffe_id + more +
        "\\nextendedKeyUsage=serverAuth,clientAuth\\n' > " + name +
        ".ext && openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout " + name +
        ".key -out " + name + ".csr -subj /CN=" + name + " 2>&1 && openssl x509 -req -in " + name +
        ".csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 2 -out " + name + ".crt -extfile " +
        name + ".ext 2>&1");
  }
  std::string dir_;
};

// What a TLS client got from one exchange.
struct TlsExchange {
  bool handshake = false;
  std::string received;
  bool closed = false;  // the proxy ended the connection
};

// Connects to 127.0.0.1:port with TLS presenting `name`'s certificate, sends `message` and
// reads until `expect` bytes arrived or the connection ends (every read has a deadline).
TlsExchange tlsExchange(const Certificates& certs, uint16_t port, const std::string& name,
                        const std::string& message, size_t expect) {
  // Writing to a connection the proxy closed must fail, not kill the test.
  std::signal(SIGPIPE, SIG_IGN);
  TlsExchange out;
  int fd = connectLoopback(port);
  if (fd < 0) return out;
  timeval timeout{5, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof(timeout));
  SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
  SSL_CTX_use_certificate_chain_file(ctx, certs.path(name + ".crt").c_str());
  SSL_CTX_use_PrivateKey_file(ctx, certs.path(name + ".key").c_str(), SSL_FILETYPE_PEM);
  SSL_CTX_load_verify_locations(ctx, certs.path("ca.crt").c_str(), nullptr);
  SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
  SSL* ssl = SSL_new(ctx);
  SSL_set_fd(ssl, fd);
  SSL_set_tlsext_host_name(ssl, "reviews.local");
  out.handshake = SSL_connect(ssl) == 1;
  if (out.handshake && SSL_write(ssl, message.data(), static_cast<int>(message.size())) > 0) {
    char chunk[4096];
    while (out.received.size() < expect) {
      int n = SSL_read(ssl, chunk, sizeof(chunk));
      if (n <= 0) {
        int error = SSL_get_error(ssl, n);
        // A timeout is neither data nor a close: the caller's expectations report it.
        out.closed = !(error == SSL_ERROR_SYSCALL && (errno == EAGAIN || errno == EWOULDBLOCK));
        break;
      }
      out.received.append(chunk, n);
    }
  }
  ERR_clear_error();
  SSL_free(ssl);
  SSL_CTX_free(ctx);
  ::close(fd);
  return out;
}

class RbacIntegrationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = makeTempDir();
    certs_ = std::make_unique<Certificates>(dir_);
    app_ = std::make_unique<FakeUpstream>(httpServe([this](const FakeRequest& request) {
      ++app_requests_;
      // Every value of the principal header the application received, one per line.
      std::string values;
      std::istringstream head(request.head);
      for (std::string line; std::getline(head, line);) {
        std::string lowered = line;
        for (char& c : lowered) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        if (lowered.rfind(std::string(kPrincipalHeader) + ":", 0) != 0) continue;
        std::string value = line.substr(std::string(kPrincipalHeader).size() + 1);
        value.erase(0, value.find_first_not_of(' '));
        if (!value.empty() && value.back() == '\r') value.pop_back();
        values += value + "\n";
      }
      return httpResponse(200, "app saw: " + request.requestLine() + "\n" + values);
    }));
    echo_tls_ = std::make_unique<FakeUpstream>(FakeUpstream::echo());
    echo_plain_ = std::make_unique<FakeUpstream>(FakeUpstream::echo());
    std::string error;
    ASSERT_TRUE(proxy_.start(config(), {"--concurrency", "2"}, error)) << error;
    http_port_ = proxy_.listenerPort("reviews_http");
    tcp_port_ = proxy_.listenerPort("reviews_tcp");
    plain_port_ = proxy_.listenerPort("plain_tcp");
    ASSERT_NE(http_port_, 0);
    ASSERT_NE(tcp_port_, 0);
    ASSERT_NE(plain_port_, 0);
  }

  std::string mtls() const {
    return R"(
      transport_socket:
        name: remora.transport_sockets.tls
        typed_config:
          "@type": type.googleapis.com/remora.extensions.transport_sockets.tls.v1.DownstreamTlsContext
          require_client_certificate: true
          common_tls_context:
            tls_certificates:
            - certificate_chain: {filename: )" +
           certs_->path("reviews.crt") + R"(}
              private_key: {filename: )" +
           certs_->path("reviews.key") + R"(}
            validation_context:
              trusted_ca: {filename: )" +
           certs_->path("ca.crt") + R"(}
            alpn_protocols: [h2, http/1.1]
)";
  }

  // Network RBAC (productpage only) in front of tcp_proxy to `cluster`.
  static std::string tcpChain(const std::string& stat_prefix, const std::string& cluster) {
    return R"(
    - filters:
      - name: remora.filters.network.rbac
        typed_config:
          "@type": type.googleapis.com/remora.extensions.filters.rbac.v1.RBAC
          stat_prefix: )" +
           stat_prefix + R"(
          rules:
            policies:
            - name: default/reviews-tcp
              rules: [{from: [{principals: [cluster.local/ns/default/sa/productpage]}]}]
      - name: remora.filters.network.tcp_proxy
        typed_config:
          "@type": type.googleapis.com/remora.extensions.filters.network.tcp_proxy.v1.TcpProxy
          cluster: )" +
           cluster + "\n";
  }

  static std::string cluster(const std::string& name, uint16_t port) {
    return "  - name: " + name +
           "\n    load_assignment: {endpoints: [{lb_endpoints: [{endpoint: {address: "
           "{socket_address: {address: 127.0.0.1, port_value: " +
           std::to_string(port) + "}}}}]}]}\n";
  }

  std::string config() const {
    return R"(admin: {address: {socket_address: {address: 127.0.0.1, port_value: 0}}}
static_resources:
  listeners:
  - name: reviews_http
    address: {socket_address: {address: 127.0.0.1, port_value: 0}}
    filter_chains:
    - filters:
      - name: remora.filters.network.http_connection_manager
        typed_config:
          "@type": type.googleapis.com/remora.extensions.filters.network.http_connection_manager.v1.HttpConnectionManager
          stat_prefix: reviews_http
          route_config:
            virtual_hosts:
            - name: reviews
              domains: ["*"]
              routes: [{match: {prefix: /}, route: {cluster: reviews_app}}]
          http_filters:
          - name: remora.filters.http.rbac
            typed_config:
              "@type": type.googleapis.com/remora.extensions.filters.rbac.v1.RBAC
              stat_prefix: reviews_http
              forward_principal_header: X-Remora-Peer-Principal
              rules:
                policies:
                - name: default/reviews-viewer
                  action: ALLOW
                  rules:
                  - from: [{principals: [cluster.local/ns/default/sa/productpage]}]
                    to: [{methods: [GET], paths: [/reviews/*, /reviews]}]
                - name: default/audit-writes
                  action: AUDIT
                  rules: [{to: [{not_methods: [GET, HEAD]}]}]
          - name: remora.filters.http.router)" +
           mtls() + R"(
  - name: reviews_tcp
    address: {socket_address: {address: 127.0.0.1, port_value: 0}}
    filter_chains:)" +
           tcpChain("reviews_tcp", "echo_tls") + mtls() + R"(
  - name: plain_tcp
    address: {socket_address: {address: 127.0.0.1, port_value: 0}}
    filter_chains:)" +
           tcpChain("plain_tcp", "echo_plain") + R"(
  clusters:
)" + cluster("reviews_app", app_->port()) +
           cluster("echo_tls", echo_tls_->port()) + cluster("echo_plain", echo_plain_->port());
  }

  // curl to the mTLS HTTP listener as `name`; the output ends with "\n<status> <content type>".
  CommandResult curl(const std::string& name, const std::string& path,
                     std::vector<std::string> args = {}) {
    std::vector<std::string> argv = {"/usr/bin/curl",
                                     "-sS",
                                     "--max-time",
                                     "5",
                                     "--cacert",
                                     certs_->path("ca.crt"),
                                     "--cert",
                                     certs_->path(name + ".crt"),
                                     "--key",
                                     certs_->path(name + ".key"),
                                     "--resolve",
                                     "reviews.local:" + std::to_string(http_port_) + ":127.0.0.1",
                                     "-w",
                                     "\n%{http_code} %{content_type}"};
    argv.insert(argv.end(), args.begin(), args.end());
    argv.push_back("https://reviews.local:" + std::to_string(http_port_) + path);
    return runCommand(argv);
  }

  double decisions(const std::string& filter, const std::string& stat_prefix,
                   const std::string& policy, const std::string& decision) const {
    return proxy_
        .metric("remora_rbac_decisions_total{decision=\"" + decision + "\",filter=\"" + filter +
                "\",policy=\"" + policy + "\",stat_prefix=\"" + stat_prefix + "\"}")
        .value_or(-1);
  }

  std::string dir_;
  std::unique_ptr<Certificates> certs_;
  std::atomic<int> app_requests_{0};
  std::unique_ptr<FakeUpstream> app_;
  std::unique_ptr<FakeUpstream> echo_tls_;
  std::unique_ptr<FakeUpstream> echo_plain_;
  ProxyProcess proxy_;
  uint16_t http_port_ = 0;
  uint16_t tcp_port_ = 0;
  uint16_t plain_port_ = 0;
};

TEST_F(RbacIntegrationTest, ProductpageReadsReviewsAndTheAppSeesItsIdentity) {
  // HTTP/2 (ALPN h2) and HTTP/1.1; a forged principal header is replaced, not passed on.
  for (std::string protocol : {"--http2", "--http1.1"}) {
    auto ok = curl("productpage", "/reviews/1",
                   {protocol, "-H", std::string(kPrincipalHeader) + ": spiffe://forged/sa/admin"});
    EXPECT_EQ(ok.output,
              "app saw: GET /reviews/1 HTTP/1.1\n" + std::string(kProductpage) + "\n\n200 ")
        << protocol;
  }
  // Paths are matched without the query string: the exact "/reviews" still matches.
  auto query = curl("productpage", "/reviews?page=2&sort=desc");
  EXPECT_EQ(query.output, "app saw: GET /reviews?page=2&sort=desc HTTP/1.1\n" +
                              std::string(kProductpage) + "\n\n200 ");
  EXPECT_EQ(app_requests_.load(), 3);
  EXPECT_EQ(decisions("http", "reviews_http", "default/reviews-viewer", "allowed"), 3);
}

TEST_F(RbacIntegrationTest, OtherServiceAccountAndWritesGet403WithoutReachingTheApp) {
  auto ratings = curl("ratings", "/reviews/1");
  EXPECT_EQ(ratings.output, "RBAC: access denied\n403 text/plain");
  auto ratings_h1 = curl("ratings", "/reviews/1", {"--http1.1"});
  EXPECT_EQ(ratings_h1.output, "RBAC: access denied\n403 text/plain");
  // Over HTTP/2 without a body, over HTTP/1.1 with one (the answer comes before the body).
  auto post = curl("productpage", "/reviews/1", {"-X", "POST"});
  EXPECT_EQ(post.output, "RBAC: access denied\n403 text/plain");
  auto post_body = curl("productpage", "/reviews/1", {"--http1.1", "-d", "stars=5"});
  EXPECT_EQ(post_body.output, "RBAC: access denied\n403 text/plain");
  // Over HTTP/2 a 2 MB upload is answered while it is still being sent: the response goes out
  // whole, then RST_STREAM(NO_ERROR) (RFC 9113 8.1). nghttp, because curl 7.88 reports any
  // reset of an upload as error 92, even one after the complete response.
  std::string big = makeTempDir() + "/big";
  writeFile(big, std::string(2 << 20, 'x'));
  auto post_h2 = runCommand({"/usr/bin/nghttp", "-v", "--cert", certs_->path("productpage.crt"),
                             "--key", certs_->path("productpage.key"), "-d", big,
                             "https://127.0.0.1:" + std::to_string(http_port_) + "/reviews/1"});
  EXPECT_EQ(post_h2.exit_code, 0) << post_h2.output;
  EXPECT_NE(post_h2.output.find(":status: 403"), std::string::npos) << post_h2.output;
  EXPECT_NE(post_h2.output.find("RBAC: access denied"), std::string::npos) << post_h2.output;
  EXPECT_NE(post_h2.output.find("error_code=NO_ERROR"), std::string::npos) << post_h2.output;
  EXPECT_EQ(app_requests_.load(), 0);
  EXPECT_EQ(decisions("http", "reviews_http", "", "denied"), 5);
  EXPECT_EQ(decisions("http", "reviews_http", "default/reviews-viewer", "allowed"), 0);
  // AUDIT counts the writes, whatever was decided.
  EXPECT_EQ(decisions("http", "reviews_http", "default/audit-writes", "audited"), 3);
}

TEST_F(RbacIntegrationTest, TcpChainEchoesForProductpageOnly) {
  auto allowed = tlsExchange(*certs_, tcp_port_, "productpage", "ping over mtls", 14);
  EXPECT_TRUE(allowed.handshake);
  EXPECT_EQ(allowed.received, "ping over mtls");
  EXPECT_EQ(echo_tls_->accepted(), 1u);

  auto denied = tlsExchange(*certs_, tcp_port_, "ratings", "let me in", 9);
  // The handshake itself succeeds (the certificate is valid); the identity is refused.
  EXPECT_TRUE(denied.handshake);
  EXPECT_EQ(denied.received, "");
  EXPECT_TRUE(denied.closed);
  ASSERT_TRUE(waitFor([&] { return decisions("network", "reviews_tcp", "", "denied") == 1; }))
      << proxy_.admin("GET", "/stats/prometheus").body;
  // The decision came before tcp_proxy ran: no upstream connection for the denied peer.
  EXPECT_EQ(echo_tls_->accepted(), 1u);
  EXPECT_EQ(decisions("network", "reviews_tcp", "default/reviews-tcp", "allowed"), 1);
}

TEST_F(RbacIntegrationTest, PlaintextClientHasNoIdentityAndIsClosed) {
  int fd = connectLoopback(plain_port_);
  ASSERT_GE(fd, 0);
  sendAll(fd, "hello");
  bool eof = false;
  EXPECT_EQ(recvUntilClosed(fd, seconds(5), &eof), "");
  EXPECT_TRUE(eof);
  ::close(fd);
  ASSERT_TRUE(waitFor([&] { return decisions("network", "plain_tcp", "", "denied") == 1; }));
  EXPECT_EQ(echo_plain_->accepted(), 0u);
}

TEST_F(RbacIntegrationTest, DecisionCountersAreInPrometheusAndPassPromtool) {
  curl("productpage", "/reviews/1");
  curl("ratings", "/reviews/1");
  tlsExchange(*certs_, tcp_port_, "productpage", "x", 1);
  ASSERT_TRUE(waitFor(
      [&] { return decisions("network", "reviews_tcp", "default/reviews-tcp", "allowed") == 1; }));
  std::string text = proxy_.admin("GET", "/stats/prometheus").body;
  for (const char* expected :
       {"# TYPE remora_rbac_decisions_total counter",
        "remora_rbac_decisions_total{decision=\"allowed\",filter=\"http\",policy=\"default/"
        "reviews-viewer\",stat_prefix=\"reviews_http\"} 1",
        "remora_rbac_decisions_total{decision=\"denied\",filter=\"http\",policy=\"\",stat_prefix="
        "\"reviews_http\"} 1",
        "remora_rbac_decisions_total{decision=\"audited\",filter=\"http\",policy=\"default/"
        "audit-writes\",stat_prefix=\"reviews_http\"} 0",
        "remora_rbac_decisions_total{decision=\"allowed\",filter=\"network\",policy=\"default/"
        "reviews-tcp\",stat_prefix=\"reviews_tcp\"} 1",
        "remora_rbac_decisions_total{decision=\"denied\",filter=\"network\",policy=\"\","
        "stat_prefix=\"plain_tcp\"} 0"}) {
    EXPECT_NE(text.find(expected), std::string::npos) << expected << "\n" << text;
  }
  if (access("/usr/bin/promtool", X_OK) != 0) GTEST_SKIP() << "promtool not installed";
  std::string path = makeTempDir() + "/metrics.txt";
  writeFile(path, text);
  auto lint = runCommand({"/bin/sh", "-c", "/usr/bin/promtool check metrics < " + path});
  EXPECT_EQ(lint.exit_code, 0) << lint.output;
  EXPECT_EQ(lint.output, "");
}

TEST(RbacConfigTest, BadPolicyIsRefusedWithItsPath) {
  std::string dir = makeTempDir();
  writeFile(dir + "/bad.yaml", R"(static_resources:
  listeners:
  - name: l
    address: {socket_address: {address: 127.0.0.1, port_value: 0}}
    filter_chains:
    - filters:
      - name: remora.filters.network.rbac
        typed_config:
          "@type": type.googleapis.com/remora.extensions.filters.rbac.v1.RBAC
          forward_principal_header: x-peer
          rules: {policies: [{name: ns/p, rules: [{from: [{ip_blocks: [10.0.0.0/33]}]}]}]}
      - name: remora.filters.network.tcp_proxy
        typed_config: {"@type": type.googleapis.com/remora.extensions.filters.network.tcp_proxy.v1.TcpProxy, cluster: c}
  clusters:
  - name: c
    load_assignment: {endpoints: [{lb_endpoints: [{endpoint: {address: {socket_address: {address: 127.0.0.1, port_value: 1}}}}]}]}
)");
  auto result = runCommand({remoraBinary(), "--mode", "validate", "-c", dir + "/bad.yaml"});
  EXPECT_EQ(result.exit_code, 1) << result.output;
  const std::string filter = "static_resources.listeners[0].filter_chains[0].filters[0]";
  EXPECT_NE(result.output.find(filter +
                               ".typed_config.rules.policies[0].rules[0].from[0].ip_blocks[0]: "),
            std::string::npos)
      << result.output;
  EXPECT_NE(result.output.find(filter +
                               ".typed_config.forward_principal_header: only the HTTP filter can "
                               "set headers"),
            std::string::npos)
      << result.output;
}

}  // namespace
}  // namespace remora::test
