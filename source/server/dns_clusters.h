#pragma once

// Hosts of STRICT_DNS and LOGICAL_DNS clusters, on the main thread. Each tracked cluster's
// names are resolved now and again every dns_refresh_rate (or, with respect_dns_ttl, when the
// shortest TTL runs out: never sooner than 1 s nor later than the refresh rate).
// STRICT_DNS: every address of every name is a host (with the name's port and weight).
// LOGICAL_DNS: one host, the first address, so new connections follow the name.
// A failed lookup keeps the name's last good addresses. A changed host set reaches the
// workers as a host update of the same cluster (their pools to hosts that stay are kept).

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "source/common/network/dns_resolver.h"
#include "source/common/upstream/cluster_info_impl.h"
#include "source/interface/stats/stats.h"

namespace remora::server {

class DnsClusters {
 public:
  using UpdateCb = std::function<void(upstream::ClusterInfoConstSharedPtr)>;

  DnsClusters(event::LibeventDispatcher& dispatcher, stats::Store& store,
              const std::string& resolv_conf, UpdateCb on_update);
  ~DnsClusters();

  // Starts (or restarts, for a new config) resolving a DNS cluster.
  void track(const upstream::ClusterInfoConstSharedPtr& info);
  void untrack(const std::string& name);
  // The version of `name` tracked now (its configId), or 0.
  uint64_t trackedConfig(const std::string& name) const;

 private:
  struct Target {
    network::DnsResolver::QueryPtr query;
    std::vector<network::DnsResolver::Record> last_good;
    bool answered = false;
  };
  struct Tracked {
    upstream::ClusterInfoConstSharedPtr info;
    std::vector<Target> targets;
    event::TimerPtr timer;
    stats::Counter* successes;
    stats::Counter* failures;
    std::string last_hosts;
  };

  void refresh(Tracked& tracked);
  void onAnswered(Tracked& tracked);

  event::LibeventDispatcher& dispatcher_;
  stats::Store& store_;
  network::DnsResolver resolver_;
  UpdateCb on_update_;
  std::map<std::string, std::unique_ptr<Tracked>> tracked_;
};

}  // namespace remora::server
