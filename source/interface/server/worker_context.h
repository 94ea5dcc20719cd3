#pragma once

// What a filter instance may use from the worker it runs on.

#include "source/interface/event/dispatcher.h"
#include "source/interface/upstream/cluster.h"

namespace remora::server {

class WorkerContext {
 public:
  virtual ~WorkerContext() = default;
  virtual event::Dispatcher& dispatcher() = 0;
  virtual upstream::ClusterManager& clusterManager() = 0;
};

}  // namespace remora::server
