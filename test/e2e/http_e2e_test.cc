// End to end with real peers: nginx as the HTTP/1.1 and HTTP/2 (h2c) upstreams, curl, nghttp
// and h2load as clients, the real remora binary in between.

#include <sys/wait.h>
#include <unistd.h>

#include <csignal>

#include "gtest/gtest.h"
#include "test/integration/proxy_process.h"

namespace remora::test {
namespace {

// nginx in the foreground on two ports: HTTP/1.1 and h2c.
class Nginx {
 public:
  bool start(uint16_t h1_port, uint16_t h2_port, std::string& error) {
    dir_ = makeTempDir();
    writeFile(
        dir_ + "/nginx.conf",
        "daemon off; user root root; worker_processes 1; pid " + dir_ + "/nginx.pid; error_log " +
            dir_ +
            "/error.log;\nevents { worker_connections 1024; }\nhttp { access_log off;"
            " client_body_temp_path " +
            dir_ + "; proxy_temp_path " + dir_ + "; fastcgi_temp_path " + dir_ +
            "; uwsgi_temp_path " + dir_ + "; scgi_temp_path " + dir_ +
            ";\n server { listen 127.0.0.1:" + std::to_string(h1_port) +
            "; location / { return 200 \"h1 $request_uri $server_protocol\\n\"; } }\n"
            " server { listen 127.0.0.1:" +
            std::to_string(h2_port) +
            " http2; location / { return 200 \"h2 $request_uri $server_protocol\\n\"; } }\n}\n");
    pid_ = fork();
    if (pid_ == 0) {
      execl("/usr/sbin/nginx", "nginx", "-c", (dir_ + "/nginx.conf").c_str(), "-p", dir_.c_str(),
            nullptr);
      _exit(127);
    }
    bool up = waitFor([&] {
      int a = connectLoopback(h1_port), b = connectLoopback(h2_port);
      if (a >= 0) ::close(a);
      if (b >= 0) ::close(b);
      return a >= 0 && b >= 0;
    });
    if (!up) error = "nginx did not start";
    return up;
  }
  ~Nginx() {
    if (pid_ > 0) {
      kill(pid_, SIGQUIT);
      waitpid(pid_, nullptr, 0);
    }
  }

 private:
  std::string dir_;
  pid_t pid_ = -1;
};

std::string config(uint16_t h1, uint16_t h2) {
  auto cluster = [](const std::string& name, uint16_t port, const std::string& protocol) {
    return "  - name: " + name + "\n    http_protocol: " + protocol +
           "\n    load_assignment:\n      endpoints:\n      - lb_endpoints:\n        - endpoint: "
           "{address: {socket_address: {address: 127.0.0.1, port_value: " +
           std::to_string(port) + "}}}\n";
  };
  return R"(
admin: {address: {socket_address: {address: 127.0.0.1, port_value: 0}}}
static_resources:
  listeners:
  - name: http_in
    address: {socket_address: {address: 127.0.0.1, port_value: 0}}
    filter_chains:
    - filters:
      - name: remora.filters.network.http_connection_manager
        typed_config:
          "@type": type.googleapis.com/remora.extensions.filters.network.http_connection_manager.v1.HttpConnectionManager
          stat_prefix: e2e
          route_config:
            virtual_hosts:
            - name: all
              domains: ["*"]
              routes:
              - {match: {prefix: /v2/}, route: {cluster: h2_backend}}
              - {match: {prefix: /}, route: {cluster: h1_backend}}
          http_filters: [{name: remora.filters.http.router}]
  clusters:
)" + cluster("h1_backend", h1, "HTTP1") +
         cluster("h2_backend", h2, "HTTP2");
}

class HttpE2eTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (access("/usr/sbin/nginx", X_OK) != 0 || access("/usr/bin/h2load", X_OK) != 0) {
      GTEST_SKIP() << "nginx or nghttp2-client missing (tools/dev setup installs them)";
    }
    uint16_t h1 = unusedPort(), h2 = unusedPort();
    std::string error;
    ASSERT_TRUE(nginx_.start(h1, h2, error)) << error;
    ASSERT_TRUE(proxy_.start(config(h1, h2), {"--concurrency", "2"}, error)) << error;
    base_ = "http://127.0.0.1:" + std::to_string(proxy_.listenerPort("http_in"));
  }
  Nginx nginx_;
  ProxyProcess proxy_;
  std::string base_;
};

TEST_F(HttpE2eTest, EveryProtocolPairing) {
  auto run = [](std::vector<std::string> argv) { return runCommand(argv).output; };
  EXPECT_EQ(run({"/usr/bin/curl", "-s", "--http1.1", base_ + "/a"}), "h1 /a HTTP/1.1\n");
  EXPECT_EQ(run({"/usr/bin/curl", "-s", "--http2-prior-knowledge", base_ + "/b"}),
            "h1 /b HTTP/1.1\n");
  EXPECT_EQ(run({"/usr/bin/curl", "-s", "--http1.1", base_ + "/v2/c"}), "h2 /v2/c HTTP/2.0\n");
  EXPECT_EQ(run({"/usr/bin/curl", "-s", "--http2-prior-knowledge", base_ + "/v2/d"}),
            "h2 /v2/d HTTP/2.0\n");
  EXPECT_EQ(run({"/usr/bin/nghttp", base_ + "/v2/e"}), "h2 /v2/e HTTP/2.0\n");
}

TEST_F(HttpE2eTest, H2loadTenThousandRequestsOverHundredStreamsWithoutErrors) {
  for (const char* path : {"/x", "/v2/x"}) {
    auto result =
        runCommand({"/usr/bin/h2load", "-n", "10000", "-c", "1", "-m", "100", base_ + path});
    EXPECT_EQ(result.exit_code, 0) << result.output;
    EXPECT_NE(result.output.find("10000 succeeded, 0 failed, 0 errored, 0 timeout"),
              std::string::npos)
        << path << "\n"
        << result.output;
    EXPECT_NE(result.output.find("status codes: 10000 2xx"), std::string::npos) << result.output;
  }
}

}  // namespace
}  // namespace remora::test
