#include "source/common/upstream/cluster_manager_impl.h"

#include <set>

#include "source/common/common/logger.h"
#include "source/interface/upstream/load_balancer.h"

namespace remora::upstream {

ThreadLocalClusterImpl::ThreadLocalClusterImpl(ClusterInfoConstSharedPtr info,
                                               event::Dispatcher& dispatcher,
                                               const ClientCodecFactoryProvider& codecs,
                                               RandomGenerator& random, SelfConnectionGuard* guard)
    : info_(std::move(info)),
      dispatcher_(dispatcher),
      codecs_(codecs),
      random_(random),
      guard_(guard),
      balancer_(createLoadBalancer(info_->lbConfig(), info_->hosts(), random_,
                                   dispatcher.timeSource())) {}

ThreadLocalClusterImpl::~ThreadLocalClusterImpl() = default;

http::ConnectionPool& ThreadLocalClusterImpl::httpConnPool(const HostConstSharedPtr& host,
                                                           http::Protocol downstream_protocol) {
  http::Protocol protocol = info_->upstreamHttpProtocol(downstream_protocol);
  auto key = std::make_pair(host.get(), protocol);
  auto it = pools_.find(key);
  if (it != pools_.end()) return *it->second;
  auto pool = std::make_unique<http::ConnPoolImpl>(
      dispatcher_, host, protocol, [this, host] { return createConnection(host); },
      codecs_(protocol),
      http::ConnPoolLimits{.cluster_connections = &info_->resourceManager().connections(),
                           .cluster_pending = &info_->resourceManager().pendingRequests(),
                           .connection = info_->httpConnectionOptions()});
  return *pools_.emplace(key, std::move(pool)).first->second;
}

HostConstSharedPtr ThreadLocalClusterImpl::chooseHost(const LoadBalancerContext* context) {
  if (info_->originalDestination()) return originalDestinationHost(context);
  return balancer_->chooseHost(context);
}

HostConstSharedPtr ThreadLocalClusterImpl::originalDestinationHost(
    const LoadBalancerContext* context) {
  const network::Address* destination =
      context != nullptr ? context->originalDestination() : nullptr;
  if (destination == nullptr) return nullptr;
  // Checked on every connection, cached host or not: listeners come and go.
  if (guard_ != nullptr && guard_->ownListener(*destination)) {
    REMORA_LOG(debug,
               "cluster %s: refusing to connect to %s: it is one of this proxy's own listeners "
               "(the connection would loop back into the proxy)",
               info_->name().c_str(), destination->asString().c_str());
    info_->onSelfConnectionRefused();
    return nullptr;
  }
  std::string key = destination->asString();
  auto it = original_dst_hosts_.find(key);
  if (it != original_dst_hosts_.end()) return it->second;
  // Bounded: past the limit, destinations without a pool are forgotten (they are made again
  // when seen again).
  if (original_dst_hosts_.size() >= 1024) {
    std::erase_if(original_dst_hosts_, [this](const auto& entry) {
      for (const auto& [pool_key, pool] : pools_) {
        if (pool_key.first == entry.second.get()) return false;
      }
      return entry.second.use_count() == 1;
    });
  }
  auto host = std::make_shared<Host>();
  host->address = *destination;
  if (info_->originalDestinationToLoopback()) {
    host->address =
        network::Address::fromIpPort(destination->family() == AF_INET6 ? "::1" : "127.0.0.1",
                                     destination->port())
            .value_or(*destination);
  }
  original_dst_hosts_.emplace(std::move(key), host);
  return host;
}

network::ClientConnectionPtr ThreadLocalClusterImpl::createConnection(
    const HostConstSharedPtr& host) {
  auto connection = std::make_unique<network::ClientConnectionImpl>(
      dispatcher_, host->address, info_->transportSocketFactory().createTransportSocket(),
      info_->connectTimeout());
  connection->setBufferLimits(info_->perConnectionBufferLimit());
  connection->setStats(info_->connectionStats());
  const network::Address& source = info_->sourceAddress();
  if (source.valid() && source.family() == host->address.family()) {
    connection->setSourceAddress(source);
  }
  return connection;
}

void ClusterManagerImpl::retire(Entry& entry) {
  if (!entry.local) return;
  std::erase(with_retired_pools_, entry.local.get());
  entry.local->drain();
  draining_.push_back(std::move(entry.local));
}

void ClusterManagerImpl::update(const std::vector<ClusterInfoConstSharedPtr>& clusters) {
  std::map<std::string, Entry, std::less<>> next;
  for (const auto& info : clusters) {
    // Names are unique after validation; a duplicate keeps the first.
    if (next.count(info->name()) != 0) continue;
    auto it = clusters_.find(info->name());
    if (it != clusters_.end() && it->second.info == info) {
      next.emplace(info->name(), std::move(it->second));
    } else {
      next.emplace(info->name(), Entry{info, nullptr});
    }
  }
  clusters_.swap(next);
  // What is left in `next` was removed or replaced.
  for (auto& [name, entry] : next) retire(entry);
  reapDrained();
}

void ClusterManagerImpl::applyDelta(const std::vector<ClusterInfoConstSharedPtr>& upserts,
                                    const std::vector<std::string>& removed) {
  for (const auto& name : removed) {
    auto it = clusters_.find(name);
    if (it == clusters_.end()) continue;
    retire(it->second);
    clusters_.erase(it);
  }
  for (const auto& info : upserts) {
    auto [it, inserted] = clusters_.try_emplace(info->name(), Entry{info, nullptr});
    if (inserted) continue;
    Entry& entry = it->second;
    if (entry.info == info) continue;
    if (entry.info->configId() == info->configId()) {
      entry.info = info;
      if (entry.local) {
        entry.local->updateHosts(info);
        if (!entry.local->reapRetiredPools()) with_retired_pools_.push_back(entry.local.get());
      }
      continue;
    }
    retire(entry);
    entry.info = info;
  }
  reapDrained();
}

void ThreadLocalClusterImpl::updateHosts(ClusterInfoConstSharedPtr info) {
  info_ = std::move(info);
  balancer_ =
      createLoadBalancer(info_->lbConfig(), info_->hosts(), random_, dispatcher_.timeSource());
  std::set<const Host*> present;
  for (const auto& host : info_->hosts()) present.insert(host.get());
  for (auto it = pools_.begin(); it != pools_.end();) {
    if (present.count(it->first.first) != 0) {
      ++it;
      continue;
    }
    it->second->drainConnections();
    retired_pools_.push_back(std::move(it->second));
    it = pools_.erase(it);
  }
}

bool ThreadLocalClusterImpl::reapRetiredPools() {
  std::erase_if(retired_pools_, [](const auto& pool) {
    return pool->connectionCount() == 0 && pool->pendingCount() == 0;
  });
  return retired_pools_.empty();
}

void ClusterManagerImpl::reapDrained() {
  std::erase_if(draining_, [](const auto& cluster) { return cluster->idle(); });
  std::erase_if(with_retired_pools_, [](auto* cluster) { return cluster->reapRetiredPools(); });
  if (draining_.empty() && with_retired_pools_.empty()) return;
  // Checked again shortly: requests in flight finish on their own time.
  if (!reap_timer_) reap_timer_ = dispatcher_.createTimer([this] { reapDrained(); });
  reap_timer_->enable(std::chrono::seconds(1));
}

void ThreadLocalClusterImpl::drain() {
  for (auto& [key, pool] : pools_) pool->drainConnections();
  for (auto& pool : retired_pools_) pool->drainConnections();
}

bool ThreadLocalClusterImpl::idle() const {
  for (const auto& pool : retired_pools_) {
    if (pool->connectionCount() != 0 || pool->pendingCount() != 0) return false;
  }
  for (const auto& [key, pool] : pools_) {
    if (pool->connectionCount() != 0 || pool->pendingCount() != 0) return false;
  }
  return true;
}

size_t ClusterManagerImpl::usedClusterCount() const {
  size_t used = 0;
  for (const auto& [name, entry] : clusters_) used += entry.local != nullptr;
  return used;
}

ThreadLocalCluster* ClusterManagerImpl::getCluster(std::string_view name) {
  auto it = clusters_.find(name);
  if (it == clusters_.end()) return nullptr;
  Entry& entry = it->second;
  if (!entry.local) {
    entry.local =
        std::make_unique<ThreadLocalClusterImpl>(entry.info, dispatcher_, codecs_, random_, guard_);
  }
  return entry.local.get();
}

}  // namespace remora::upstream
