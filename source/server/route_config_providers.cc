#include "source/server/route_config_providers.h"

#include <algorithm>

namespace remora::server {
namespace {
thread_local uint32_t t_worker_index = 0;
}  // namespace

uint32_t currentWorkerIndex() { return t_worker_index; }
void setCurrentWorkerIndex(uint32_t index) { t_worker_index = index; }

std::shared_ptr<RdsRouteConfigProvider> RouteConfigProviderRegistry::get(const std::string& name,
                                                                         const std::string& path) {
  if (path.empty() && !control_plane_) return nullptr;
  if (path.empty()) {
    ++ads_names_[name];
  } else if (std::find(paths_.begin(), paths_.end(), path) == paths_.end()) {
    paths_.push_back(path);
  }
  return provider(name);
}

std::shared_ptr<RdsRouteConfigProvider> RouteConfigProviderRegistry::provider(
    const std::string& name) {
  auto& entry = providers_[name];
  if (!entry) entry = std::make_shared<RdsRouteConfigProvider>(name, workers_);
  return entry;
}

RdsRouteConfigProvider* RouteConfigProviderRegistry::find(const std::string& name) const {
  auto it = providers_.find(name);
  return it == providers_.end() ? nullptr : it->second.get();
}

}  // namespace remora::server
