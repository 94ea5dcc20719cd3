// `remora --mode validate` on the shipped example and on broken files.

#include "gtest/gtest.h"
#include "test/integration/proxy_process.h"

namespace remora::test {
namespace {

TEST(ValidateModeTest, ExampleConfigsAreValid) {
  for (const char* example : {"docs/examples/tcp_proxy.yaml", "docs/examples/http_proxy.yaml",
                              "docs/examples/resilience.yaml",
                              "docs/examples/sidecar_bootstrap.yaml"}) {
    auto result = runCommand({remoraBinary(), "--mode", "validate", "-c", example});
    EXPECT_EQ(result.exit_code, 0) << example << ": " << result.output;
    EXPECT_EQ(result.output, "OK\n") << example;
  }
}

TEST(ValidateModeTest, EveryErrorIsPrintedAndExitIsOne) {
  std::string path = makeTempDir() + "/bad.yaml";
  writeFile(path, R"(
static_resources:
  listeners:
  - name: in
    address: {socket_address: {address: 127.0.0.1, port_value: 10001}}
    filter_chains:
    - filters:
      - name: remora.filters.network.tcp_proxy
        typed_config:
          "@type": type.googleapis.com/remora.extensions.filters.network.tcp_proxy.v1.TcpProxy
          cluster: missing
  clusters:
  - name: backend
    connect_timeout: 0s
)");
  auto result = runCommand({remoraBinary(), "--mode", "validate", "-c", path});
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_EQ(result.output, path +
                               ": invalid configuration:\n"
                               "static_resources.clusters[0].connect_timeout: must be "
                               "positive (at least 1ms)\n");
  // Once the semantic errors are fixed, filter config errors show up too.
  writeFile(path, R"(
static_resources:
  listeners:
  - name: in
    address: {socket_address: {address: 127.0.0.1, port_value: 10001}}
    filter_chains:
    - filters:
      - name: remora.filters.network.tcp_proxy
        typed_config:
          "@type": type.googleapis.com/remora.extensions.filters.network.tcp_proxy.v1.TcpProxy
          cluster: missing
)");
  result = runCommand({remoraBinary(), "--mode", "validate", "-c", path});
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_EQ(result.output, path +
                               ": invalid configuration:\n"
                               "static_resources.listeners[0].filter_chains[0].filters[0]."
                               "typed_config.cluster: unknown cluster \"missing\"\n");
}

TEST(ValidateModeTest, SyntaxErrorsAndMissingFiles) {
  auto result = runCommand({remoraBinary(), "--mode", "validate", "--config-yaml", "a: [1"});
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_NE(result.output.find("--config-yaml: invalid configuration:\nline "), std::string::npos)
      << result.output;
  result = runCommand({remoraBinary(), "--mode", "validate", "-c", "/nonexistent.yaml"});
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_EQ(result.output,
            "/nonexistent.yaml: invalid configuration:\n/nonexistent.yaml: cannot "
            "read: No such file or directory\n");
}

}  // namespace
}  // namespace remora::test
