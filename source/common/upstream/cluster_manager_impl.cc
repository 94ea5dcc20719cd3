#include "source/common/upstream/cluster_manager_impl.h"

namespace remora::upstream {

ThreadLocalClusterImpl::ThreadLocalClusterImpl(ClusterInfoConstSharedPtr info,
                                               event::Dispatcher& dispatcher)
    : info_(std::move(info)), dispatcher_(dispatcher), balancer_(info_->hosts()) {}

network::ClientConnectionPtr ThreadLocalClusterImpl::createConnection(
    const HostConstSharedPtr& host) {
  auto connection = std::make_unique<network::ClientConnectionImpl>(
      dispatcher_, host->address, info_->transportSocketFactory().createTransportSocket(),
      info_->connectTimeout());
  connection->setBufferLimits(info_->perConnectionBufferLimit());
  connection->setStats(info_->connectionStats());
  return connection;
}

void ClusterManagerImpl::update(const std::vector<ClusterInfoConstSharedPtr>& clusters) {
  std::map<std::string, std::unique_ptr<ThreadLocalClusterImpl>, std::less<>> next;
  for (const auto& info : clusters) {
    // Names are unique after validation; a duplicate keeps the first.
    if (next.count(info->name()) != 0) continue;
    auto it = clusters_.find(info->name());
    if (it != clusters_.end() && it->second && &it->second->info() == info.get()) {
      next.emplace(info->name(), std::move(it->second));
    } else {
      next.emplace(info->name(), std::make_unique<ThreadLocalClusterImpl>(info, dispatcher_));
    }
  }
  clusters_.swap(next);
}

ThreadLocalCluster* ClusterManagerImpl::getCluster(std::string_view name) {
  auto it = clusters_.find(name);
  return it == clusters_.end() ? nullptr : it->second.get();
}

}  // namespace remora::upstream
