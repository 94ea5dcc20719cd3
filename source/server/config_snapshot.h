#pragma once

// The running configuration in immutable form. Built on the main thread (this is also where
// every filter's typed config is validated) and shared read-only with the workers.

#include <atomic>
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "remora/config/bootstrap/v1/bootstrap.pb.h"
#include "source/common/network/connection_impl.h"
#include "source/common/upstream/cluster_info_impl.h"
#include "source/interface/config/errors.h"
#include "source/interface/network/filter.h"
#include "source/interface/network/listener_filter.h"
#include "source/interface/stats/stats.h"

namespace remora::server {

struct FilterChainConfig {
  std::string name;
  std::optional<uint32_t> destination_port;
  std::vector<network::FilterFactoryCb> filter_factories;
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

  // The first chain whose match accepts a connection to `local`; null when none does.
  const FilterChainConfig* matchFilterChain(const network::Address& local) const;
};
using ListenerConfigConstSharedPtr = std::shared_ptr<const ListenerConfig>;

struct ConfigSnapshot {
  std::vector<upstream::ClusterInfoConstSharedPtr> clusters;
  std::vector<ListenerConfigConstSharedPtr> listeners;
};
using ConfigSnapshotConstSharedPtr = std::shared_ptr<const ConfigSnapshot>;

// Builds the snapshot from an already validated bootstrap: looks up each filter's factory by
// name, checks its typed_config type and lets the factory validate it. Errors carry the field
// path. Returns null when any error was added.
ConfigSnapshotConstSharedPtr buildConfigSnapshot(const config::bootstrap::v1::Bootstrap& bootstrap,
                                                 stats::Store& store, config::Errors& errors);

}  // namespace remora::server
