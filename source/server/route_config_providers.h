#pragma once

// Discovered route configurations, one provider per name, shared by every HTTP connection
// manager that names it. Each worker has its own slot in each provider: the main thread builds
// a new table once and posts it to every worker, which stores it in its slot; a worker reads
// only its own slot, so requests take no lock.

#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "remora/config/route/v1/route.pb.h"
#include "source/common/config/packed_proto.h"
#include "source/interface/router/route_config_provider.h"

namespace remora::server {

// The index of the worker running on this thread (0 elsewhere).
uint32_t currentWorkerIndex();
void setCurrentWorkerIndex(uint32_t index);

class RdsRouteConfigProvider : public router::RouteConfigProvider {
 public:
  RdsRouteConfigProvider(std::string name, uint32_t workers)
      : name_(std::move(name)), slots_(workers == 0 ? 1 : workers) {}

  std::shared_ptr<const router::RouteTable> current() const override {
    uint32_t index = currentWorkerIndex();
    return slots_[index < slots_.size() ? index : 0];
  }
  // On worker `index` only.
  void setOnWorker(uint32_t index, std::shared_ptr<const router::RouteTable> table) {
    slots_[index] = std::move(table);
  }

  // Main thread state.
  const std::string& name() const { return name_; }
  std::shared_ptr<const router::RouteTable> latest;
  config::PackedProto<config::route::v1::RouteConfiguration> proto;  // for /config_dump
  std::string version;
  std::chrono::system_clock::time_point last_updated{};

 private:
  std::string name_;
  std::vector<std::shared_ptr<const router::RouteTable>> slots_;
};

// Main thread: the providers by name, and which files were named as route sources.
class RouteConfigProviderRegistry {
 public:
  RouteConfigProviderRegistry(uint32_t workers, bool control_plane)
      : workers_(workers), control_plane_(control_plane) {}
  // Null when `path` is empty and there is no control plane.
  std::shared_ptr<RdsRouteConfigProvider> get(const std::string& name, const std::string& path);
  RdsRouteConfigProvider* find(const std::string& name) const;
  // The provider of `name`, made if new, without asking any source for it (a source sent it
  // unasked, or it was removed).
  std::shared_ptr<RdsRouteConfigProvider> provider(const std::string& name);
  const std::map<std::string, std::shared_ptr<RdsRouteConfigProvider>>& providers() const {
    return providers_;
  }
  // Names wanted from the control plane, and files to watch.
  const std::map<std::string, int>& adsNames() const { return ads_names_; }
  const std::vector<std::string>& paths() const { return paths_; }
  uint32_t workers() const { return workers_; }

 private:
  uint32_t workers_;
  bool control_plane_;
  std::map<std::string, std::shared_ptr<RdsRouteConfigProvider>> providers_;
  std::map<std::string, int> ads_names_;
  std::vector<std::string> paths_;
};

}  // namespace remora::server
