#pragma once

// What a filter instance may use from the worker it runs on.

#include "source/interface/event/dispatcher.h"
#include "source/interface/network/connection.h"
#include "source/interface/upstream/cluster.h"

namespace remora::server {

class WorkerContext {
 public:
  virtual ~WorkerContext() = default;
  virtual event::Dispatcher& dispatcher() = 0;
  virtual upstream::ClusterManager& clusterManager() = 0;
  // Takes ownership of a connection that should send what it has buffered and then close
  // (flush-close), for filters that end before their peer connection has drained. The worker
  // deletes it once closed, or force-closes it after a bounded wait.
  virtual void adoptClosingConnection(network::ConnectionPtr connection) = 0;
};

}  // namespace remora::server
