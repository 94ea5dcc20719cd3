// Semantic checks: every problem reported at once, each with its path and reason.

#include "source/common/config/bootstrap_validation.h"

#include "gtest/gtest.h"
#include "source/common/config/bootstrap_loader.h"

namespace remora::config {
namespace {

std::vector<std::string> validate(const std::string& yaml) {
  bootstrap::v1::Bootstrap bootstrap;
  Errors errors;
  EXPECT_TRUE(parseBootstrap(yaml, bootstrap, errors)) << errors.joined();
  validateBootstrap(bootstrap, errors);
  return errors.lines();
}

constexpr char kGood[] = R"(
admin: {address: {socket_address: {address: 127.0.0.1, port_value: 0}}}
static_resources:
  listeners:
  - name: in
    address: {socket_address: {address: "::1", port_value: 0}}
    listener_filters_timeout: 0.5s
    filter_chains:
    - filters: [{name: some.filter}]
  clusters:
  - name: backend
    connect_timeout: 0.25s
    load_assignment:
      cluster_name: backend
      endpoints:
      - lb_endpoints:
        - endpoint: {address: {socket_address: {address: 10.0.0.1, port_value: 80}}}
          load_balancing_weight: 128
)";

TEST(BootstrapValidationTest, ValidConfigHasNoErrors) { EXPECT_TRUE(validate(kGood).empty()); }

TEST(BootstrapValidationTest, AddressesAndPorts) {
  EXPECT_EQ(
      validate("admin: {address: {socket_address: {address: localhost, port_value: 70000}}}"),
      (std::vector<std::string>{
          "admin.address.socket_address.address: \"localhost\" is not an IPv4 or IPv6 "
          "address (names are not resolved)",
          "admin.address.socket_address.port_value: must be between 0 and 65535, got 70000"}));
  EXPECT_EQ(
      validate("static_resources: {clusters: [{name: c, load_assignment: {endpoints: "
               "[{lb_endpoints: [{endpoint: {address: {socket_address: {address: 10.0.0.1}}}}, "
               "{endpoint: {}}]}]}}]}"),
      (std::vector<std::string>{
          "static_resources.clusters[0].load_assignment.endpoints[0].lb_endpoints[0].endpoint."
          "address.socket_address.port_value: must be between 1 and 65535, got 0",
          "static_resources.clusters[0].load_assignment.endpoints[0].lb_endpoints[1].endpoint."
          "address: required"}));
}

TEST(BootstrapValidationTest, ListenerRules) {
  EXPECT_EQ(validate("static_resources: {listeners: [{listener_filters_timeout: 0s, "
                     "per_connection_buffer_limit_bytes: 10}]}"),
            (std::vector<std::string>{
                "static_resources.listeners[0].name: required",
                "static_resources.listeners[0].address: required",
                "static_resources.listeners[0].listener_filters_timeout: must be positive (at "
                "least 1ms)",
                "static_resources.listeners[0].per_connection_buffer_limit_bytes: must be at "
                "least 1024 bytes",
                "static_resources.listeners[0].filter_chains: at least one filter chain is "
                "required"}));
  EXPECT_EQ(validate("static_resources: {listeners: [{name: l, address: {socket_address: "
                     "{address: 0.0.0.0}}, filter_chains: [{filters: [{name: f}]}, {filters: "
                     "[]}, {filter_chain_match: {destination_port: 0}, filters: [{}]}]}]}"),
            (std::vector<std::string>{
                "static_resources.listeners[0].filter_chains[1].filter_chain_match: duplicate "
                "filter_chain_match, also in filter_chains[0]",
                "static_resources.listeners[0].filter_chains[1].filters: at least one filter is "
                "required",
                "static_resources.listeners[0].filter_chains[2].filter_chain_match.destination_"
                "port: must be between 1 and 65535",
                "static_resources.listeners[0].filter_chains[2].filters[0].name: required"}));
}

TEST(BootstrapValidationTest, ClusterRules) {
  EXPECT_EQ(validate("static_resources: {clusters: [{name: a, connect_timeout: 0s}, {name: a, "
                     "load_assignment: {cluster_name: b, endpoints: [{lb_endpoints: [{endpoint: "
                     "{address: {socket_address: {address: 10.0.0.1, port_value: 1}}}, "
                     "load_balancing_weight: 0}]}]}}, {}]}"),
            (std::vector<std::string>{
                "static_resources.clusters[0].connect_timeout: must be positive (at least 1ms)",
                "static_resources.clusters[1].load_assignment.cluster_name: \"b\" differs from "
                "the cluster name \"a\"",
                "static_resources.clusters[1].load_assignment.endpoints[0].lb_endpoints[0]."
                "load_balancing_weight: must be between 1 and 128",
                "static_resources.clusters[2].name: required",
                "static_resources.clusters[1].name: \"a\" is already used by "
                "static_resources.clusters[0]"}));
}

TEST(BootstrapValidationTest, NegativeUpstreamIdleTimeout) {
  EXPECT_EQ(validate("static_resources: {clusters: [{name: a, common_http_protocol_options: "
                     "{idle_timeout: -1s, max_requests_per_connection: 10}}]}"),
            (std::vector<std::string>{"static_resources.clusters[0].common_http_protocol_options."
                                      "idle_timeout: must not be negative"}));
}

TEST(BootstrapValidationTest, UpstreamBindSourceIsAnIpLiteral) {
  EXPECT_TRUE(validate("static_resources: {clusters: [{name: a, type: ORIGINAL_DST, "
                       "upstream_bind_config: {source_address: {address: 127.0.0.6}}}]}")
                  .empty());
  EXPECT_EQ(validate("static_resources: {clusters: [{name: a, upstream_bind_config: "
                     "{source_address: {address: localhost, port_value: 70000}}}]}"),
            (std::vector<std::string>{
                "static_resources.clusters[0].upstream_bind_config.source_address.address: "
                "\"localhost\" is not an IP address",
                "static_resources.clusters[0].upstream_bind_config.source_address.port_value: "
                "must be at most 65535"}));
}

TEST(BootstrapValidationTest, RetryBudgetIsAPercentage) {
  EXPECT_EQ(validate("static_resources: {clusters: [{name: a, circuit_breakers: {retry_budget: "
                     "{budget_percent: 150}}}]}"),
            (std::vector<std::string>{"static_resources.clusters[0].circuit_breakers.retry_budget."
                                      "budget_percent: must be between 0 and 100"}));
}

TEST(BootstrapValidationTest, HealthCheckRules) {
  EXPECT_EQ(
      validate("static_resources: {clusters: [{name: a, health_checks: [{interval: 0s}, "
               "{http_health_check: {expected_statuses: [{start: 300, end: 200}]}}]}]}"),
      (std::vector<std::string>{
          "static_resources.clusters[0].health_checks: at most one health check per cluster",
          "static_resources.clusters[0].health_checks[0]: http_health_check or "
          "tcp_health_check is required",
          "static_resources.clusters[0].health_checks[0].interval: must be positive (at least "
          "1ms)",
          "static_resources.clusters[0].health_checks[1].http_health_check.expected_statuses[0]"
          ": must be a range of statuses with 100 <= start < end <= 600"}));
}

TEST(BootstrapValidationTest, DuplicateListenerNames) {
  std::string yaml = "static_resources: {listeners: [";
  for (int i = 0; i < 2; ++i) {
    yaml += std::string(i ? "," : "") +
            "{name: l, address: {socket_address: {address: 127.0.0.1}}, filter_chains: "
            "[{filters: [{name: f}]}]}";
  }
  EXPECT_EQ(validate(yaml + "]}"),
            (std::vector<std::string>{"static_resources.listeners[1].name: \"l\" is already used "
                                      "by static_resources.listeners[0]"}));
}

TEST(BootstrapValidationTest, DiscoveryOverTlsNeedsTheWorkloadIdentityAndADnsName) {
  const std::string ads =
      "dynamic_resources: {ads_config: {address: {socket_address: {address: 10.96.0.10, "
      "port_value: 15012}}, workload_identity_tls: {server_name: ";
  EXPECT_EQ(validate(ads + "\"10.96.0.10\"}}}"),
            (std::vector<std::string>{
                "dynamic_resources.ads_config.workload_identity_tls: needs workload_identity (the "
                "certificate presented to the control plane)",
                "dynamic_resources.ads_config.workload_identity_tls.server_name: \"10.96.0.10\" "
                "is not a DNS name (the control plane's certificate is matched by DNS name, e.g. "
                "remora-pilot.istio-system.svc)"}));
  const std::string identity =
      "node: {namespace: default}\n"
      "workload_identity: {ca_address: {socket_address: {address: 10.96.0.10, port_value: "
      "15012}}, root_cert_file: /roots.pem, token_file: /token}\n";
  EXPECT_TRUE(validate(identity + ads + "remora-pilot.istio-system.svc}}}").empty());
  EXPECT_TRUE(validate(identity +
                       "dynamic_resources: {ads_config: {address: {socket_address: {address: "
                       "10.96.0.10, port_value: 15012}}, workload_identity_tls: {}}}")
                  .empty());
}

}  // namespace
}  // namespace remora::config
