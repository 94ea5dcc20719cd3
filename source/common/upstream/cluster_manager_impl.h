#pragma once

// A worker's clusters: immutable ClusterInfo shared with every worker, plus this worker's
// load-balancer state. Built on the worker thread from a config snapshot.

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "source/common/common/random_generator.h"
#include "source/common/http/conn_pool/conn_pool_impl.h"
#include "source/common/upstream/cluster_info_impl.h"
#include "source/common/upstream/load_balancer_impl.h"
#include "source/common/upstream/self_connection_guard.h"
#include "source/interface/event/dispatcher.h"
#include "source/interface/upstream/cluster.h"

namespace remora::upstream {

// Makes the client codec factory for an upstream protocol. Injected so that clusters do not
// depend on the codec implementations.
using ClientCodecFactoryProvider = std::function<http::ClientCodecFactory(http::Protocol)>;

class ThreadLocalClusterImpl : public ThreadLocalCluster {
 public:
  // `random` is the worker's generator, shared by its clusters (one engine per cluster would
  // cost kilobytes each).
  // `guard` (null: none) refuses original destinations that are the proxy's own listeners.
  ThreadLocalClusterImpl(ClusterInfoConstSharedPtr info, event::Dispatcher& dispatcher,
                         const ClientCodecFactoryProvider& codecs, RandomGenerator& random,
                         SelfConnectionGuard* guard = nullptr);
  ~ThreadLocalClusterImpl() override;
  const ClusterInfo& info() const override { return *info_; }
  std::shared_ptr<const ClusterInfo> sharedInfo() const override { return info_; }
  // Closes idle connections and lets busy ones finish (the cluster was removed or replaced).
  void drain();
  // No connection or queued request left in any pool.
  bool idle() const;
  // Same cluster config, new host set (info->configId() equals the current one): the balancer
  // is rebuilt, pools of hosts that stay are kept, the others drain.
  void updateHosts(ClusterInfoConstSharedPtr info);
  // Frees the pools of removed hosts that have finished; true when none is left.
  bool reapRetiredPools();
  HostConstSharedPtr chooseHost(const LoadBalancerContext* context = nullptr) override;
  network::ClientConnectionPtr createConnection(const HostConstSharedPtr& host) override;
  http::ConnectionPool& httpConnPool(const HostConstSharedPtr& host,
                                     http::Protocol downstream_protocol) override;
  void onRequestComplete(const Host& host, std::chrono::nanoseconds latency) override {
    balancer_->onRequestComplete(host, latency);
  }
  void onHostResult(const Host& host, uint32_t status) override {
    host.requests_total.fetch_add(1, std::memory_order_relaxed);
    if (status == 0 || status >= 500) host.errors_total.fetch_add(1, std::memory_order_relaxed);
    if (auto* detector = info_->outlierDetector()) {
      detector->reportResult(host, status, dispatcher_.timeSource().monotonicTime());
    }
  }

 private:
  ClusterInfoConstSharedPtr info_;
  event::Dispatcher& dispatcher_;
  const ClientCodecFactoryProvider& codecs_;
  RandomGenerator& random_;
  SelfConnectionGuard* guard_;
  LoadBalancerPtr balancer_;
  // Keyed by host object (owned by info_, so stable) and protocol.
  std::map<std::pair<const Host*, http::Protocol>, std::unique_ptr<http::ConnPoolImpl>> pools_;
  // ORIGINAL_DST: the host made for each destination seen on this worker.
  HostConstSharedPtr originalDestinationHost(const LoadBalancerContext* context);
  std::unordered_map<std::string, HostConstSharedPtr> original_dst_hosts_;
  // Pools of hosts that left the host set, finishing their requests.
  std::vector<std::unique_ptr<http::ConnPoolImpl>> retired_pools_;
};

class ClusterManagerImpl : public ClusterManager {
 public:
  explicit ClusterManagerImpl(event::Dispatcher& dispatcher, ClientCodecFactoryProvider codecs = {})
      : dispatcher_(dispatcher), codecs_(std::move(codecs)) {}
  // Replaces the cluster set. Clusters whose info object is unchanged keep their balancer state.
  void update(const std::vector<ClusterInfoConstSharedPtr>& clusters);
  // Adds or replaces `upserts` and removes `removed` (names), leaving every other cluster
  // alone: the cost is proportional to the change. An upsert with the configId() of the
  // cluster it replaces only changes its hosts (see ThreadLocalClusterImpl::updateHosts).
  void applyDelta(const std::vector<ClusterInfoConstSharedPtr>& upserts,
                  const std::vector<std::string>& removed);
  ThreadLocalCluster* getCluster(std::string_view name) override;
  // Loop protection for ORIGINAL_DST clusters (see SelfConnectionGuard); owned by the caller,
  // set before the first getCluster(). Without one, no destination is refused.
  void setSelfConnectionGuard(SelfConnectionGuard* guard) { guard_ = guard; }
  // Clusters this worker has sent something to, i.e. holds a balancer and pools for.
  size_t usedClusterCount() const;
  // Removed or replaced clusters still finishing their requests.
  size_t drainingCount() const { return draining_.size(); }
  // Frees drained clusters and retired pools that have nothing left in flight.
  void reapDrained();

 private:
  event::Dispatcher& dispatcher_;
  ClientCodecFactoryProvider codecs_;
  MersenneRandom random_;
  SelfConnectionGuard* guard_ = nullptr;
  // A worker's balancer and pools for a cluster are made on its first request: a sidecar learns
  // every service of the mesh and talks to a few, and this state is per worker.
  struct Entry {
    ClusterInfoConstSharedPtr info;
    std::unique_ptr<ThreadLocalClusterImpl> local;  // null until first used
  };
  // Moves `entry`'s worker state (if any) to the draining list.
  void retire(Entry& entry);

  std::map<std::string, Entry, std::less<>> clusters_;
  // Removed from clusters_ by an update but possibly still carrying requests: their pools and
  // connections must outlive those requests.
  std::vector<std::unique_ptr<ThreadLocalClusterImpl>> draining_;
  // Clusters with pools of removed hosts still draining.
  std::vector<ThreadLocalClusterImpl*> with_retired_pools_;
  event::TimerPtr reap_timer_;
};

}  // namespace remora::upstream
