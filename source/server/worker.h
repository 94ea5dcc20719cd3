#pragma once

// A worker thread: its own event loop, its own copy of every listener (one SO_REUSEPORT socket
// each), its own cluster load-balancer state. The main thread talks to it only by posting
// callbacks; connections never leave it.

#include <atomic>
#include <list>
#include <memory>
#include <thread>
#include <vector>

#include "source/common/event/libevent_dispatcher.h"
#include "source/common/upstream/cluster_manager_impl.h"
#include "source/interface/server/worker_context.h"
#include "source/server/active_listener.h"
#include "source/server/config_snapshot.h"
#include "source/server/downstream_connection_limit.h"
#include "source/server/route_config_providers.h"

namespace remora::server {

class Worker : public WorkerContext {
 public:
  // `limit`, shared by every worker, must outlive this one.
  Worker(uint32_t index, DownstreamConnectionLimit& limit);
  ~Worker() override;

  // Main thread: starts the thread. Then the methods below post work to it.
  void start();
  // Adds, replaces and removes clusters (see ClusterManagerImpl::applyDelta).
  void updateClusters(std::vector<upstream::ClusterInfoConstSharedPtr> upserts,
                      std::vector<std::string> removed);
  // Installs this worker's copy of a discovered route table.
  void setRoutes(std::shared_ptr<RdsRouteConfigProvider> provider,
                 std::shared_ptr<const router::RouteTable> table);
  // Starts accepting on `listen_fd` (owned from now on); `done` runs on the worker after.
  void addListener(ListenerConfigConstSharedPtr config, int listen_fd, std::function<void()> done);
  // Process shutdown, per listener direction: OUTBOUND listeners are left alone (the
  // application may still be making calls); INBOUND listeners keep accepting, but every
  // connection, open or new, is drained (a peer that has not yet heard the pod is going
  // still gets served); listeners without a direction stop accepting and drain.
  void drainForShutdown();
  // The listeners named `name`, except the one with config `keep`, stop accepting; their
  // connections carry on and are closed when `drain_time` has passed.
  void drainListeners(std::string name, const ListenerConfig* keep,
                      std::chrono::milliseconds drain_time);
  // The addresses every listener of the process is bound to (listeners, admin, readiness):
  // this worker's ORIGINAL_DST clusters refuse to connect to them (loop protection).
  void setOwnAddresses(std::vector<network::Address> addresses);
  // Exits the loop (closing what is still open) and joins the thread.
  void stop();
  // Open downstream connections plus connections finishing a flush-close. Any thread.
  uint64_t openConnections() const { return open_connections_.load(std::memory_order_relaxed); }

  // WorkerContext (worker thread)
  event::Dispatcher& dispatcher() override { return dispatcher_; }
  upstream::ClusterManager& clusterManager() override { return cluster_manager_; }
  void adoptClosingConnection(network::ConnectionPtr connection) override;

  // Worker thread: which addresses are this host's (listeners with local_clients_only).
  network::LocalAddresses& localAddresses() { return local_addresses_; }
  // The process-wide downstream connection limit. Any thread.
  DownstreamConnectionLimit& connectionLimit() { return limit_; }

  // Called by ActiveListener on the worker thread.
  void onConnectionOpened() { open_connections_.fetch_add(1, std::memory_order_relaxed); }
  void onConnectionClosed() { open_connections_.fetch_sub(1, std::memory_order_relaxed); }

 private:
  class ClosingConnection;

  uint32_t index_;
  DownstreamConnectionLimit& limit_;
  event::LibeventDispatcher dispatcher_;
  upstream::SelfConnectionGuard self_connection_guard_;  // used by cluster_manager_
  network::LocalAddresses local_addresses_;
  upstream::ClusterManagerImpl cluster_manager_;
  std::vector<std::unique_ptr<ActiveListener>> listeners_;
  // Listeners replaced or removed by an update, until their connections are gone or their
  // drain deadline passes.
  struct DrainingListener {
    std::unique_ptr<ActiveListener> listener;
    std::chrono::steady_clock::time_point deadline;
  };
  std::vector<DrainingListener> draining_listeners_;
  event::TimerPtr drain_timer_;
  void reapDrainingListeners();
  std::list<std::unique_ptr<ClosingConnection>> closing_;
  std::atomic<uint64_t> open_connections_{0};
  std::thread thread_;
};

}  // namespace remora::server
