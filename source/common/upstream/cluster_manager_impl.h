#pragma once

// A worker's clusters: immutable ClusterInfo shared with every worker, plus this worker's
// load-balancer state. Built on the worker thread from a config snapshot.

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "source/common/upstream/cluster_info_impl.h"
#include "source/common/upstream/round_robin.h"
#include "source/interface/event/dispatcher.h"
#include "source/interface/upstream/cluster.h"

namespace remora::upstream {

class ThreadLocalClusterImpl : public ThreadLocalCluster {
 public:
  ThreadLocalClusterImpl(ClusterInfoConstSharedPtr info, event::Dispatcher& dispatcher);
  const ClusterInfo& info() const override { return *info_; }
  HostConstSharedPtr chooseHost() override { return balancer_.pick(); }
  network::ClientConnectionPtr createConnection(const HostConstSharedPtr& host) override;

 private:
  ClusterInfoConstSharedPtr info_;
  event::Dispatcher& dispatcher_;
  RoundRobinBalancer balancer_;
};

class ClusterManagerImpl : public ClusterManager {
 public:
  explicit ClusterManagerImpl(event::Dispatcher& dispatcher) : dispatcher_(dispatcher) {}
  // Replaces the cluster set. Clusters whose info object is unchanged keep their balancer state.
  void update(const std::vector<ClusterInfoConstSharedPtr>& clusters);
  ThreadLocalCluster* getCluster(std::string_view name) override;

 private:
  event::Dispatcher& dispatcher_;
  std::map<std::string, std::unique_ptr<ThreadLocalClusterImpl>, std::less<>> clusters_;
};

}  // namespace remora::upstream
