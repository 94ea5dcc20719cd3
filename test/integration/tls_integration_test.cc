// TLS through the real remora process: the handshake matrix on a mutual-TLS listener (TLS 1.2
// and 1.3, ALPN h2 and http/1.1, and each refusal counted with its reason: no client
// certificate, unknown CA, expired certificate, wrong SAN, protocol version, plaintext),
// probed with curl and `openssl s_client`; upstream mutual TLS from a cluster (HTTP/2 over
// TLS, the expected server identity enforced); session resumption; a certificate file
// replaced on disk is served to new connections while open ones carry on. Certificates are
// made by the openssl command line in the test's temporary directory.

#include <unistd.h>

#include "gtest/gtest.h"
#include "test/integration/proxy_process.h"

namespace remora::test {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

constexpr const char* kHcmType =
    "type.googleapis.com/"
    "remora.extensions.filters.network.http_connection_manager.v1.HttpConnectionManager";
constexpr const char* kDownstreamTls =
    "type.googleapis.com/remora.extensions.transport_sockets.tls.v1.DownstreamTlsContext";
constexpr const char* kUpstreamTls =
    "type.googleapis.com/remora.extensions.transport_sockets.tls.v1.UpstreamTlsContext";
constexpr const char* kReviews = "spiffe://cluster.local/ns/default/sa/reviews";
constexpr const char* kProductpage = "spiffe://cluster.local/ns/default/sa/productpage";

CommandResult sh(const std::string& script) { return runCommand({"/bin/sh", "-c", script}); }

// A CA and the certificates the tests present, made once per test with openssl.
class Pki {
 public:
  explicit Pki(std::string dir) : dir_(std::move(dir)) {
    makeCa("ca", "root-1");
    makeCa("otherca", "other-root");
    issue("server", "ca", kReviews, "DNS:reviews.local");
    issue("client", "ca", kProductpage, "");
    issue("stranger", "otherca", kProductpage, "");
    issue("wrongns", "ca", "spiffe://cluster.local/ns/other/sa/x", "");
    issue("server2", "ca", kReviews, "DNS:reviews.local,DNS:reviews-rotated.local");
    issueExpired("expired", "ca", kProductpage);
  }
  std::string path(const std::string& name) const { return dir_ + "/" + name; }

 private:
  void run(const std::string& script) {
    auto r = sh("cd " + dir_ + " && " + script);
    ASSERT_EQ(r.exit_code, 0) << script << "\n" << r.output;
  }
  void makeCa(const std::string& name, const std::string& cn) {
    run("openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout " + name +
        ".key -out " + name + ".crt -days 30 -subj /O=remora-test/CN=" + cn +
        " -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign 2>&1");
  }
  void issue(const std::string& name, const std::string& ca, const std::string& uri,
             const std::string& extra_san) {
    std::string san = "URI:" + uri + (extra_san.empty() ? "" : "," + extra_san);
    run("printf 'subjectAltName=" + san + "\\nextendedKeyUsage=serverAuth,clientAuth\\n' > " +
        name + ".ext && " +
        "openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout " + name +
        ".key -out " + name + ".csr -subj /CN=" + name + " 2>&1 && openssl x509 -req -in " + name +
        ".csr -CA " + ca + ".crt -CAkey " + ca + ".key -CAcreateserial -days 5 -out " + name +
        ".crt -extfile " + name + ".ext 2>&1");
  }
  // `openssl ca` is the one that takes explicit validity dates (x509 -req cannot backdate).
  void issueExpired(const std::string& name, const std::string& ca, const std::string& uri) {
    run("mkdir -p " + name + ".db && touch " + name + ".db/index && echo 01 > " + name +
        ".db/serial && printf '[ca]\\ndefault_ca=c\\n[c]\\ndatabase=" + name +
        ".db/index\\nserial=" + name + ".db/serial\\nnew_certs_dir=" + name +
        ".db\\ndefault_md=sha256\\npolicy=p\\n[p]\\ncommonName=supplied\\n[x]\\n"
        "subjectAltName=URI:" +
        uri + "\\n' > " + name + ".cnf && " +
        "openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout " + name +
        ".key -out " + name + ".csr -subj /CN=" + name + " 2>&1 && openssl ca -batch -config " +
        name + ".cnf -extensions x -cert " + ca + ".crt -keyfile " + ca +
        ".key -startdate 20200101000000Z -enddate 20200102000000Z -in " + name + ".csr -out " +
        name + ".crt 2>&1");
  }
  std::string dir_;
};

class TlsIntegrationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = makeTempDir();
    pki_ = std::make_unique<Pki>(dir_);
    // The server certificate is served from a copy that a test replaces.
    ASSERT_EQ(sh("cp " + pki_->path("server.crt") + " " + dir_ + "/live.crt && cp " +
                 pki_->path("server.key") + " " + dir_ + "/live.key")
                  .exit_code,
              0);
    mtls_port_ = unusedPort();
    tls13_port_ = unusedPort();
    std::string error;
    ASSERT_TRUE(proxy_.start(config(), {"--concurrency", "2"}, error)) << error;
    front_port_ = proxy_.listenerPort("front");
  }

  std::string downstreamTls(const std::string& extra) {
    return std::string(R"(
      transport_socket:
        name: remora.transport_sockets.tls
        typed_config:
          "@type": )") +
           kDownstreamTls + R"(
          common_tls_context:
            tls_certificates:
            - certificate_chain: {filename: )" +
           dir_ + R"(/live.crt}
              private_key: {filename: )" +
           dir_ + R"(/live.key}
)" + extra;
  }

  std::string directResponse(const std::string& stat) {
    return std::string(R"(
    - filters:
      - name: remora.filters.network.http_connection_manager
        typed_config:
          "@type": )") +
           kHcmType + R"(
          stat_prefix: )" +
           stat + R"(
          route_config:
            virtual_hosts:
            - name: all
              domains: ["*"]
              routes: [{match: {prefix: /}, direct_response: {status: 200, body: "hello from )" +
           stat + R"(\n"}}]
          http_filters: [{name: remora.filters.http.router}])";
  }

  std::string upstreamCluster(const std::string& name, const std::string& expected_san) {
    return "  - name: " + name + R"(
    http_protocol: HTTP2
    load_assignment: {endpoints: [{lb_endpoints: [{endpoint: {address: {socket_address: {address: 127.0.0.1, port_value: )" +
           std::to_string(mtls_port_) + R"(}}}}]}]}
    transport_socket:
      name: remora.transport_sockets.tls
      typed_config:
        "@type": )" +
           kUpstreamTls + R"(
        sni: reviews.local
        common_tls_context:
          tls_certificates:
          - certificate_chain: {filename: )" +
           pki_->path("client.crt") + R"(}
            private_key: {filename: )" +
           pki_->path("client.key") + R"(}
          validation_context:
            trusted_ca: {filename: )" +
           pki_->path("ca.crt") + R"(}
            match_typed_subject_alt_names: [{san_type: URI, exact: ")" +
           expected_san + R"("}]
          alpn_protocols: [h2]
)";
  }

  std::string config() {
    std::string mtls_extra = R"(            validation_context:
              trusted_ca: {filename: )" +
                             pki_->path("ca.crt") +
                             R"(}
              match_typed_subject_alt_names:
              - {san_type: URI, prefix: "spiffe://cluster.local/ns/default/"}
            alpn_protocols: [h2, http/1.1]
          require_client_certificate: true
)";
    std::string tls13_extra = R"(            tls_params: {tls_minimum_protocol_version: TLSv1_3}
)";
    return R"(admin: {address: {socket_address: {address: 127.0.0.1, port_value: 0}}}
static_resources:
  listeners:
  - name: mtls
    address: {socket_address: {address: 127.0.0.1, port_value: )" +
           std::to_string(mtls_port_) + "}}\n    filter_chains:" + directResponse("mtls") +
           downstreamTls(mtls_extra) + R"(
  - name: tls13
    address: {socket_address: {address: 127.0.0.1, port_value: )" +
           std::to_string(tls13_port_) + "}}\n    filter_chains:" + directResponse("tls13") +
           downstreamTls(tls13_extra) + R"(
  - name: front
    address: {socket_address: {address: 127.0.0.1, port_value: 0}}
    filter_chains:
    - filters:
      - name: remora.filters.network.http_connection_manager
        typed_config:
          "@type": )" +
           kHcmType + R"(
          stat_prefix: front
          route_config:
            virtual_hosts:
            - name: all
              domains: ["*"]
              routes:
              - {match: {prefix: /wrong}, route: {cluster: wrong_identity}}
              - {match: {prefix: /}, route: {cluster: reviews_mtls}}
          http_filters: [{name: remora.filters.http.router}]
  clusters:
)" + upstreamCluster("reviews_mtls", kReviews) +
           upstreamCluster("wrong_identity", "spiffe://cluster.local/ns/default/sa/ratings");
  }

  // curl to the mTLS listener as reviews.local with `cert` (empty: none).
  CommandResult curl(const std::string& cert, std::vector<std::string> args) {
    std::vector<std::string> argv = {
        "/usr/bin/curl", "-sS",
        "--max-time",    "5",
        "--cacert",      pki_->path("ca.crt"),
        "--resolve",     "reviews.local:" + std::to_string(mtls_port_) + ":127.0.0.1"};
    if (!cert.empty()) {
      argv.insert(argv.end(),
                  {"--cert", pki_->path(cert + ".crt"), "--key", pki_->path(cert + ".key")});
    }
    argv.insert(argv.end(), args.begin(), args.end());
    argv.push_back("https://reviews.local:" + std::to_string(mtls_port_) + "/");
    return runCommand(argv);
  }

  // openssl s_client against `port`; `input` is sent after the handshake.
  CommandResult sClient(uint16_t port, const std::string& flags, const std::string& input = "") {
    return sh("printf '" + input +
              "' | timeout 5 openssl s_client -connect 127.0.0.1:" + std::to_string(port) +
              " -servername reviews.local -CAfile " + pki_->path("ca.crt") + " " + flags + " 2>&1");
  }

  double failures(const std::string& name, const std::string& side, const std::string& reason) {
    return proxy_
        .metric("remora_tls_handshake_failures_total{name=\"" + name + "\",reason=\"" + reason +
                "\",side=\"" + side + "\"}")
        .value_or(0);
  }
  bool waitForFailure(const std::string& name, const std::string& side, const std::string& reason,
                      double at_least = 1) {
    return waitFor([&] { return failures(name, side, reason) >= at_least; }, seconds(5));
  }

  std::string dir_;
  std::unique_ptr<Pki> pki_;
  ProxyProcess proxy_;
  uint16_t mtls_port_ = 0;
  uint16_t tls13_port_ = 0;
  uint16_t front_port_ = 0;
};

TEST_F(TlsIntegrationTest, MutualTlsServesHttp2AndHttp11ByAlpnOnTls12And13) {
  auto h2 = curl("client", {"-w", " %{http_version}"});
  EXPECT_EQ(h2.output, "hello from mtls\n 2");
  auto h1 = curl("client", {"--http1.1", "-w", " %{http_version}"});
  EXPECT_EQ(h1.output, "hello from mtls\n 1.1");
  for (const char* version : {"-tls1_2", "-tls1_3"}) {
    auto probe =
        sClient(mtls_port_, std::string(version) + " -alpn h2 -cert " + pki_->path("client.crt") +
                                " -key " + pki_->path("client.key"));
    EXPECT_NE(probe.output.find(std::string("New, TLSv1.") + (version[6] == '2' ? "2" : "3")),
              std::string::npos)
        << probe.output;
    EXPECT_NE(probe.output.find("ALPN protocol: h2"), std::string::npos) << probe.output;
    EXPECT_NE(probe.output.find("Verify return code: 0 (ok)"), std::string::npos);
  }
  EXPECT_GE(proxy_.metric("remora_tls_handshakes_total{name=\"mtls\",side=\"downstream\"}"), 4);
}

TEST_F(TlsIntegrationTest, EachRefusedHandshakeIsCountedWithItsReason) {
  // TLS 1.2 so that the server's verdict comes inside the handshake for every case.
  auto none = sClient(mtls_port_, "-tls1_2", "GET / HTTP/1.0\\r\\n\\r\\n");
  EXPECT_EQ(none.output.find("hello from mtls"), std::string::npos) << none.output;
  EXPECT_TRUE(waitForFailure("mtls", "downstream", "no_client_certificate"));

  for (const auto& [cert, reason] :
       std::vector<std::pair<std::string, std::string>>{{"stranger", "unknown_ca"},
                                                        {"expired", "certificate_expired"},
                                                        {"wrongns", "san_mismatch"}}) {
    auto refused = curl(cert, {"--tls-max", "1.2"});
    EXPECT_NE(refused.exit_code, 0) << cert << ": " << refused.output;
    EXPECT_EQ(refused.output.find("hello"), std::string::npos) << refused.output;
    EXPECT_TRUE(waitForFailure("mtls", "downstream", reason)) << reason;
  }
  // TLS 1.3: the client finishes first, then hears the refusal; still counted by the server.
  auto late = curl("stranger", {"--tls13-ciphers", "TLS_AES_128_GCM_SHA256"});
  EXPECT_EQ(late.output.find("hello"), std::string::npos) << late.output;
  EXPECT_TRUE(waitForFailure("mtls", "downstream", "unknown_ca", 2));

  // A listener that wants TLS 1.3 refuses a TLS 1.2-only client.
  auto old = sClient(tls13_port_, "-tls1_2");
  EXPECT_NE(old.output.find("alert protocol version"), std::string::npos) << old.output;
  EXPECT_TRUE(waitForFailure("tls13", "downstream", "protocol_version"));
  // Plaintext HTTP on a TLS port.
  auto plain = runCommand({"/usr/bin/curl", "-sS", "--max-time", "5",
                           "http://127.0.0.1:" + std::to_string(mtls_port_) + "/"});
  EXPECT_NE(plain.exit_code, 0);
  EXPECT_TRUE(waitForFailure("mtls", "downstream", "not_tls"));
  // Nothing of this reached the application.
  EXPECT_EQ(curl("client", {}).output, "hello from mtls\n");
}

TEST_F(TlsIntegrationTest, UpstreamMutualTlsChecksTheServersIdentity) {
  std::string front = "http://127.0.0.1:" + std::to_string(front_port_);
  auto ok = runCommand({"/usr/bin/curl", "-sS", "--max-time", "5", front + "/"});
  EXPECT_EQ(ok.output, "hello from mtls\n");
  EXPECT_GE(proxy_.metric("remora_tls_handshakes_total{name=\"reviews_mtls\",side=\"upstream\"}"),
            1);
  // HTTP/2 over TLS to the upstream (ALPN h2): the mTLS listener saw an h2 connection.
  EXPECT_GE(proxy_.metric("remora_tls_handshakes_total{name=\"mtls\",side=\"downstream\"}"), 1);

  // The server is reviews, not ratings: the cluster refuses it and the request fails as a
  // connect failure, counted with the reason.
  auto wrong = runCommand(
      {"/usr/bin/curl", "-sS", "--max-time", "5", "-w", " %{http_code}", front + "/wrong"});
  EXPECT_NE(wrong.output.find(" 503"), std::string::npos) << wrong.output;
  EXPECT_TRUE(waitForFailure("wrong_identity", "upstream", "san_mismatch"));
  EXPECT_GE(
      proxy_.metric("remora_cluster_upstream_connect_failures_total{cluster=\"wrong_identity\"}"),
      1);
}

TEST_F(TlsIntegrationTest, SessionsResume) {
  std::string session = dir_ + "/session.pem";
  std::string client =
      " -cert " + pki_->path("client.crt") + " -key " + pki_->path("client.key") + " ";
  // TLS 1.2 session ticket, then resumed: no certificate exchange the second time.
  auto first = sClient(mtls_port_, "-tls1_2 -sess_out " + session + client, "Q");
  EXPECT_NE(first.output.find("New, TLSv1.2"), std::string::npos) << first.output;
  auto second = sClient(mtls_port_, "-tls1_2 -sess_in " + session + client, "Q");
  EXPECT_NE(second.output.find("Reused, TLSv1.2"), std::string::npos) << second.output;
  EXPECT_TRUE(waitFor(
      [&] {
        return proxy_.metric(
                   "remora_tls_session_resumptions_total{name=\"mtls\",side=\"downstream\"}") >= 1;
      },
      seconds(5)));
}

TEST_F(TlsIntegrationTest, ReplacedCertificateFileIsServedToNewConnections) {
  // An HTTP/1.1 connection opened before the rotation keeps working after it.
  auto before = sClient(mtls_port_, "-tls1_3 -cert " + pki_->path("client.crt") + " -key " +
                                        pki_->path("client.key"));
  EXPECT_NE(before.output.find("CN = server"), std::string::npos) << before.output;

  ASSERT_EQ(
      sh("cp " + pki_->path("server2.crt") + " " + dir_ + "/live.crt.new && cp " +
         pki_->path("server2.key") + " " + dir_ + "/live.key.new && mv " + dir_ + "/live.key.new " +
         dir_ + "/live.key && mv " + dir_ + "/live.crt.new " + dir_ + "/live.crt")
          .exit_code,
      0);
  EXPECT_TRUE(waitFor(
      [&] {
        auto probe = sClient(mtls_port_, "-tls1_3 -cert " + pki_->path("client.crt") + " -key " +
                                             pki_->path("client.key"));
        return probe.output.find("CN = server2") != std::string::npos;
      },
      seconds(10)))
      << proxy_.log();
  EXPECT_EQ(curl("client", {}).output, "hello from mtls\n");
}

TEST_F(TlsIntegrationTest, CertsPageAndExpiryMetricShowWhatIsInUse) {
  auto certs = proxy_.admin("GET", "/certs");
  EXPECT_EQ(certs.status, 200);
  EXPECT_NE(certs.body.find("\"name\": \"mtls\", \"side\": \"downstream\", \"state\": "
                            "\"active\""),
            std::string::npos)
      << certs.body;
  EXPECT_NE(certs.body.find("URI:spiffe://cluster.local/ns/default/sa/reviews"), std::string::npos);
  EXPECT_NE(certs.body.find("URI:spiffe://cluster.local/ns/default/sa/productpage"),
            std::string::npos);  // the clusters' client certificate
  EXPECT_NE(certs.body.find("\"subject\": \"CN=root-1,O=remora-test\""), std::string::npos);
  // The leaf was issued for 5 days.
  double left =
      proxy_.metric("remora_tls_certificate_expiry_seconds{name=\"mtls\",side=\"downstream\"}")
          .value_or(-1);
  EXPECT_GT(left, 4.9 * 86400);
  EXPECT_LE(left, 5 * 86400);
  EXPECT_GT(proxy_
                .metric("remora_tls_certificate_expiry_seconds{name=\"reviews_mtls\",side="
                        "\"upstream\"}")
                .value_or(-1),
            4.9 * 86400);
}

TEST(TlsConfigTest, BadTlsConfigIsRefusedWithItsPath) {
  std::string dir = makeTempDir();
  std::string config = std::string(R"(static_resources:
  listeners:
  - name: l
    address: {socket_address: {address: 127.0.0.1, port_value: 0}}
    filter_chains:
    - filters:
      - name: remora.filters.network.tcp_proxy
        typed_config: {"@type": type.googleapis.com/remora.extensions.filters.network.tcp_proxy.v1.TcpProxy, stat_prefix: x, cluster: c}
      transport_socket:
        name: remora.transport_sockets.tls
        typed_config:
          "@type": )") +
                       kDownstreamTls +
                       R"(
          common_tls_context:
            tls_certificates: [{certificate_chain: {filename: /nonexistent/cert.pem}, private_key: {inline_string: x}}]
          require_client_certificate: true
  clusters:
  - name: c
    load_assignment: {endpoints: [{lb_endpoints: [{endpoint: {address: {socket_address: {address: 127.0.0.1, port_value: 1}}}}]}]}
)";
  writeFile(dir + "/bad.yaml", config);
  auto r = runCommand({remoraBinary(), "--mode", "validate", "-c", dir + "/bad.yaml"});
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("static_resources.listeners[0].filter_chains[0].transport_socket."
                          "typed_config.require_client_certificate: needs a validation context"),
            std::string::npos)
      << r.output;
}

}  // namespace
}  // namespace remora::test
