#pragma once

// Bootstrap YAML for integration tests: one TCP listener on 127.0.0.1:0 proxying to a cluster.

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace remora::test {

struct TcpProxySetup {
  std::vector<std::pair<uint16_t, uint32_t>> endpoints;  // port, weight
  std::string idle_timeout = "3600s";
  std::string connect_timeout = "2s";
  uint32_t buffer_limit = 0;     // 0: default
  uint32_t max_connections = 0;  // 0: no limit
};

inline std::string tcpProxyConfig(const TcpProxySetup& setup) {
  std::string endpoints;
  for (const auto& [port, weight] : setup.endpoints) {
    endpoints +=
        "        - endpoint: {address: {socket_address: {address: 127.0.0.1, port_value: " +
        std::to_string(port) + "}}}\n          load_balancing_weight: " + std::to_string(weight) +
        "\n";
  }
  std::string limit =
      setup.buffer_limit == 0
          ? ""
          : "    per_connection_buffer_limit_bytes: " + std::to_string(setup.buffer_limit) + "\n";
  return "node: {id: test-node, cluster: test}\n"
         "admin:\n  address: {socket_address: {address: 127.0.0.1, port_value: 0}}\n"
         "static_resources:\n"
         "  listeners:\n"
         "  - name: tcp_in\n"
         "    address: {socket_address: {address: 127.0.0.1, port_value: 0}}\n" +
         limit +
         (setup.max_connections == 0
              ? std::string()
              : "    max_connections: " + std::to_string(setup.max_connections) + "\n") +
         "    filter_chains:\n"
         "    - filters:\n"
         "      - name: remora.filters.network.tcp_proxy\n"
         "        typed_config:\n"
         "          \"@type\": type.googleapis.com/"
         "remora.extensions.filters.network.tcp_proxy.v1.TcpProxy\n"
         "          cluster: backend\n"
         "          idle_timeout: " +
         setup.idle_timeout +
         "\n"
         "  clusters:\n"
         "  - name: backend\n"
         "    connect_timeout: " +
         setup.connect_timeout + "\n" + limit +
         "    load_assignment:\n"
         "      endpoints:\n"
         "      - lb_endpoints:\n" +
         endpoints;
}

}  // namespace remora::test
