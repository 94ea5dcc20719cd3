#include "source/server/dns_clusters.h"

#include <algorithm>

#include "source/common/common/logger.h"

namespace remora::server {
namespace {

network::DnsResolver::Options resolverOptions(const std::string& resolv_conf) {
  network::DnsResolver::Options options;
  if (!resolv_conf.empty()) options.resolv_conf = resolv_conf;
  return options;
}

network::DnsResolver::Family family(config::cluster::v1::Cluster::DnsLookupFamily f) {
  switch (f) {
    case config::cluster::v1::Cluster::V4_ONLY:
      return network::DnsResolver::Family::kV4Only;
    case config::cluster::v1::Cluster::V6_ONLY:
      return network::DnsResolver::Family::kV6Only;
    case config::cluster::v1::Cluster::ALL:
      return network::DnsResolver::Family::kAll;
    default:
      return network::DnsResolver::Family::kAuto;
  }
}

}  // namespace

DnsClusters::DnsClusters(event::LibeventDispatcher& dispatcher, stats::Store& store,
                         const std::string& resolv_conf, UpdateCb on_update)
    : dispatcher_(dispatcher),
      store_(store),
      resolver_(dispatcher, resolverOptions(resolv_conf)),
      on_update_(std::move(on_update)) {
  if (!resolver_.setupError().empty()) {
    REMORA_LOG(error, "dns: %s", resolver_.setupError().c_str());
  }
}

DnsClusters::~DnsClusters() { tracked_.clear(); }

uint64_t DnsClusters::trackedConfig(const std::string& name) const {
  auto it = tracked_.find(name);
  return it == tracked_.end() ? 0 : it->second->info->configId();
}

void DnsClusters::track(const upstream::ClusterInfoConstSharedPtr& info) {
  auto tracked = std::make_unique<Tracked>();
  tracked->info = info;
  tracked->targets.resize(info->dnsTargets().size());
  stats::Labels labels{{"cluster", info->name()}};
  tracked->successes = &store_.counter("remora_cluster_dns_resolutions_total",
                                       "DNS lookups of a cluster's names, by result.",
                                       {{"cluster", info->name()}, {"result", "success"}});
  tracked->failures = &store_.counter("remora_cluster_dns_resolutions_total",
                                      "DNS lookups of a cluster's names, by result.",
                                      {{"cluster", info->name()}, {"result", "failure"}});
  // A new config of a cluster tracked before keeps the addresses it had meanwhile.
  auto old = tracked_.find(info->name());
  if (old != tracked_.end() &&
      old->second->info->dnsTargets().size() == info->dnsTargets().size()) {
    for (size_t i = 0; i < tracked->targets.size(); ++i) {
      if (old->second->info->dnsTargets()[i].name == info->dnsTargets()[i].name) {
        tracked->targets[i].last_good = old->second->targets[i].last_good;
      }
    }
  }
  Tracked* raw = tracked.get();
  raw->timer = dispatcher_.createTimer([this, raw] { refresh(*raw); });
  tracked_[info->name()] = std::move(tracked);
  refresh(*raw);
}

void DnsClusters::untrack(const std::string& name) { tracked_.erase(name); }

void DnsClusters::refresh(Tracked& tracked) {
  const auto& targets = tracked.info->dnsTargets();
  for (size_t i = 0; i < targets.size(); ++i) {
    tracked.targets[i].answered = false;
    tracked.targets[i].query = resolver_.resolve(
        targets[i].name, family(tracked.info->dnsLookupFamily()),
        [this, &tracked, i](network::DnsResolver::Status status, const std::string& message,
                            std::vector<network::DnsResolver::Record> records) {
          Target& target = tracked.targets[i];
          target.answered = true;
          if (status == network::DnsResolver::Status::kSuccess) {
            tracked.successes->inc();
            target.last_good = std::move(records);
          } else {
            tracked.failures->inc();
            REMORA_LOG(warn, "cluster %s: resolving %s failed (%s); keeping %zu addresses",
                       tracked.info->name().c_str(), tracked.info->dnsTargets()[i].name.c_str(),
                       message.c_str(), target.last_good.size());
          }
          onAnswered(tracked);
        });
  }
}

void DnsClusters::onAnswered(Tracked& tracked) {
  for (const auto& target : tracked.targets) {
    if (!target.answered) return;
  }
  const auto& targets = tracked.info->dnsTargets();
  config::endpoint::v1::ClusterLoadAssignment assignment;
  assignment.set_cluster_name(tracked.info->name());
  auto* locality = assignment.add_endpoints();
  std::chrono::seconds min_ttl = std::chrono::seconds::max();
  std::string hosts;
  for (size_t i = 0; i < targets.size(); ++i) {
    for (const auto& record : tracked.targets[i].last_good) {
      auto* endpoint = locality->add_lb_endpoints();
      auto* sa = endpoint->mutable_endpoint()->mutable_address()->mutable_socket_address();
      sa->set_address(record.ip);
      sa->set_port_value(targets[i].port);
      endpoint->mutable_endpoint()->set_hostname(targets[i].name);
      endpoint->mutable_load_balancing_weight()->set_value(targets[i].weight);
      hosts += record.ip + ":" + std::to_string(targets[i].port) + ",";
      min_ttl = std::min(min_ttl, record.ttl);
      if (tracked.info->logicalDns()) break;  // the first address only
    }
  }
  if (hosts != tracked.last_hosts) {
    tracked.last_hosts = hosts;
    tracked.info = upstream::ClusterInfoImpl::withHosts(*tracked.info, assignment);
    REMORA_LOG(info, "cluster %s: %zu hosts from DNS", tracked.info->name().c_str(),
               tracked.info->hosts().size());
    on_update_(tracked.info);
  }
  auto next = tracked.info->dnsRefreshRate();
  if (tracked.info->respectDnsTtl() && min_ttl != std::chrono::seconds::max()) {
    next = std::clamp<std::chrono::milliseconds>(min_ttl, std::chrono::seconds(1), next);
  }
  tracked.timer->enable(next);
}

}  // namespace remora::server
