#pragma once

// The running configuration in immutable form. Built on the main thread (this is also where
// every filter's typed config is validated) and shared read-only with the workers.

#include <array>
#include <atomic>
#include <chrono>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "remora/config/bootstrap/v1/bootstrap.pb.h"
#include "source/common/network/connection_impl.h"
#include "source/common/tls/secret_manager.h"
#include "source/common/upstream/cluster_info_impl.h"
#include "source/interface/config/errors.h"
#include "source/interface/config/filter_factory.h"
#include "source/interface/network/filter.h"
#include "source/interface/network/listener_filter.h"
#include "source/interface/stats/stats.h"
#include "source/server/route_config_providers.h"

namespace remora::server {

// An IP prefix of a filter chain match.
struct CidrRange {
  int family = 0;
  std::array<uint8_t, 16> bytes{};
  uint32_t length = 0;
  // Null when `prefix` is not an IP literal or `length` is too long for its family.
  static std::optional<CidrRange> parse(const std::string& prefix, std::optional<uint32_t> length);
  bool contains(const network::Address& address) const;
};

// What a filter chain is chosen by: the destination and what listener filters detected.
struct ConnectionMatchInfo {
  const network::Address& destination;
  const std::string& transport_protocol;  // "" counts as "raw_buffer"
  const std::string& server_name;
  const std::vector<std::string>& application_protocols;
};

struct FilterChainConfig {
  std::string name;
  std::optional<uint32_t> destination_port;
  std::vector<CidrRange> prefix_ranges;
  std::vector<std::string> server_names;  // lower-cased; "*.suffix" wildcards kept as given
  std::string transport_protocol;
  std::vector<std::string> application_protocols;
  std::vector<network::FilterFactoryCb> filter_factories;
  // TLS termination; null for plaintext.
  std::shared_ptr<network::TransportSocketFactory> transport;
  // A connection whose TLS handshake has not finished this long after accept is closed
  // (transport_socket_connect_timeout); 0: no limit.
  std::chrono::milliseconds handshake_timeout{0};

  bool matchesDestination(const network::Address& destination) const;
  // Whether the chain's match looks at anything found by inspecting the first bytes.
  bool matchesOnProtocol() const {
    return !server_names.empty() || !transport_protocol.empty() || !application_protocols.empty();
  }
  bool matches(const ConnectionMatchInfo& info) const;
};

struct ListenerConfig {
  std::string name;
  network::Address address;
  uint32_t buffer_limit = 0;
  std::chrono::milliseconds listener_filters_timeout{0};
  std::vector<network::ListenerFilterFactoryCb> listener_filters;
  std::vector<FilterChainConfig> filter_chains;
  network::ConnectionStats downstream_stats;
  stats::Counter* no_filter_chain_match = nullptr;
  stats::Counter* listener_filter_timeouts = nullptr;
  // 0: no limit. The count is shared by every worker's copy of the listener.
  uint32_t max_connections = 0;
  mutable std::atomic<uint64_t> open_connections{0};
  stats::Counter* connections_overflow = nullptr;
  // Clients on other hosts (pods) are closed at accept.
  bool local_clients_only = false;
  stats::Counter* non_local_clients_refused = nullptr;
  // Connections this listener closed at accept because the process-wide limit was reached.
  stats::Counter* global_connections_overflow = nullptr;
  // accept() failures: for lack of descriptors or memory (accepting then pauses), or about
  // one connection.
  stats::Counter* accept_errors = nullptr;

  config::listener::v1::TrafficDirection traffic_direction =
      config::listener::v1::TrafficDirection::UNSPECIFIED;

  // The first chain whose match accepts the connection; null when none does.
  const FilterChainConfig* matchFilterChain(const ConnectionMatchInfo& info) const;
  // False when the first chain matching `destination` ignores protocols: inspection cannot
  // change the choice.
  bool chainDependsOnProtocol(const network::Address& destination) const;
};
using ListenerConfigConstSharedPtr = std::shared_ptr<const ListenerConfig>;

struct ConfigSnapshot {
  std::vector<upstream::ClusterInfoConstSharedPtr> clusters;
  std::vector<ListenerConfigConstSharedPtr> listeners;
};
using ConfigSnapshotConstSharedPtr = std::shared_ptr<const ConfigSnapshot>;

// What filter factories consult while a listener is built (main thread).
class FactoryContextImpl : public config::FactoryContext {
 public:
  // `clusters`: the names routes may use; with `dynamic_clusters`, any name is accepted (a
  // route may name a cluster that has not arrived yet: its requests get 503 until it does).
  // `routes` gives discovered route configurations (null: none).
  FactoryContextImpl(stats::Store& store, const std::set<std::string, std::less<>>* clusters,
                     bool dynamic_clusters, RouteConfigProviderRegistry* routes)
      : store_(store), clusters_(clusters), dynamic_clusters_(dynamic_clusters), routes_(routes) {}
  stats::Store& stats() override { return store_; }
  bool clusterExists(std::string_view name) const override {
    return dynamic_clusters_ || (clusters_ != nullptr && clusters_->find(name) != clusters_->end());
  }
  const std::string& listenerName() const override { return listener_name_; }
  void setListenerName(std::string name) { listener_name_ = std::move(name); }
  const std::string& nodeNamespace() const override { return node_namespace_; }
  void setNodeNamespace(std::string name) { node_namespace_ = std::move(name); }
  router::RouteConfigProviderSharedPtr routeConfigProvider(const std::string& name,
                                                           const std::string& path) override {
    if (routes_ == nullptr) return nullptr;
    requested_routes_.push_back(name);
    return routes_->get(name, path);
  }
  // The route configurations asked for so far.
  const std::vector<std::string>& requestedRoutes() const { return requested_routes_; }
  // Where TLS contexts get their certificates; null: TLS is not available.
  tls::SecretManager* secretManager() const { return secrets_; }
  void setSecretManager(tls::SecretManager* secrets) { secrets_ = secrets; }

 private:
  stats::Store& store_;
  const std::set<std::string, std::less<>>* clusters_;
  bool dynamic_clusters_;
  RouteConfigProviderRegistry* routes_;
  std::string listener_name_;
  std::string node_namespace_;
  std::vector<std::string> requested_routes_;
  tls::SecretManager* secrets_ = nullptr;
};

// The cluster's transport socket factory (TLS from `transport_socket`), or null for plaintext.
// Errors under `path`.
std::shared_ptr<network::TransportSocketFactory> buildClusterTransport(
    const config::cluster::v1::Cluster& cluster, const std::string& path,
    tls::SecretManager* secrets, stats::Store& store, config::Errors& errors);

// Builds one listener: looks up each filter's factory by name, checks its typed_config type
// and lets the factory validate it. Errors carry the field path under `path`.
ListenerConfigConstSharedPtr buildListenerConfig(const config::listener::v1::Listener& proto,
                                                 const std::string& path,
                                                 FactoryContextImpl& context, stats::Store& store,
                                                 config::Errors& errors);

// Builds the snapshot from an already validated bootstrap. Errors carry the field path.
// Returns null when any error was added.
ConfigSnapshotConstSharedPtr buildConfigSnapshot(const config::bootstrap::v1::Bootstrap& bootstrap,
                                                 stats::Store& store, config::Errors& errors,
                                                 RouteConfigProviderRegistry* routes = nullptr,
                                                 tls::SecretManager* secrets = nullptr);

}  // namespace remora::server
