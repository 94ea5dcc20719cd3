#pragma once

// The process: the main thread's loop (admin, signals, config), N workers, and the shutdown
// sequence. Life: start listeners on every worker → ready (LIVE) → on SIGTERM or SIGINT,
// drain (Worker::drainForShutdown: OUTBOUND listeners keep serving, INBOUND ones drain every
// connection but still accept, others stop accepting and drain) until no connection is open
// (and at least min_drain_time has passed) or drain_time has passed, then exit 0.
// POST /quitquitquit exits at once.

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "remora/config/bootstrap/v1/bootstrap.pb.h"
#include "source/common/common/random_generator.h"
#include "source/common/config/ads_client.h"
#include "source/common/event/libevent_dispatcher.h"
#include "source/common/identity/workload_identity_agent.h"
#include "source/common/upstream/health_checker.h"
#include "source/interface/stats/stats.h"
#include "source/server/admin/admin_server.h"
#include "source/server/config_snapshot.h"
#include "source/server/dns_clusters.h"
#include "source/server/options.h"
#include "source/server/worker.h"
#include "source/server/xds_manager.h"

namespace remora::server {

class Server : public DynamicConfigTarget {
 public:
  enum class State { kStarting, kLive, kDraining };

  // `snapshot` was built from `bootstrap` with `store`, `routes` and `secrets`.
  Server(const Options& options, uint32_t concurrency, config::bootstrap::v1::Bootstrap bootstrap,
         std::unique_ptr<stats::Store> store, ConfigSnapshotConstSharedPtr snapshot,
         std::unique_ptr<RouteConfigProviderRegistry> routes,
         std::unique_ptr<tls::SecretManager> secrets = nullptr);
  ~Server() override;

  // DynamicConfigTarget (main thread)
  void updateClusters(const std::vector<upstream::ClusterInfoConstSharedPtr>& upserts,
                      const std::vector<std::string>& removed) override;
  void updateRoutes(const std::shared_ptr<RdsRouteConfigProvider>& provider,
                    std::shared_ptr<const router::RouteTable> table) override;
  bool addOrUpdateListener(ListenerConfigConstSharedPtr listener, std::string& error) override;
  void removeListener(const std::string& name) override;
  void onDynamicConfigInitialized() override;

  // Runs until shut down. Returns the process exit code: 0 after a drain, 1 if startup failed.
  int run();

 private:
  // Active health checks and the outlier-detection interval of a cluster, on the main loop:
  // started when it appears, stopped when it goes (`previous` is what it replaces, if any).
  void startChecks(const upstream::ClusterInfoConstSharedPtr& info);
  void stopChecks(const upstream::ClusterInfoImpl* info);
  void maybeGoLive();
  static std::string clusterHostLines(const upstream::ClusterInfoImpl& cluster,
                                      const upstream::Host& host);
  // The process-wide downstream connection limit: the flag, else the bootstrap, else derived
  // from the descriptor limit. Before the workers start.
  void setUpConnectionLimit();
  bool bindListeners(std::string& error);
  bool startAdmin(std::string& error);
  void addAdminHandlers();
  // Tells every worker the addresses the process listens on (loop protection); after any
  // listener is added or removed.
  void publishOwnAddresses();
  // /ready and /healthz/ready: 200 once live.
  AdminResponse readyResponse(const AdminRequest& request) const;
  void setUpSignals();
  void onSignal();
  void startDrain(const char* why);
  void checkDrainDone();
  uint64_t openConnections() const;

  Options options_;
  uint32_t concurrency_;
  config::bootstrap::v1::Bootstrap bootstrap_;
  std::unique_ptr<stats::Store> store_;
  ConfigSnapshotConstSharedPtr snapshot_;
  event::LibeventDispatcher main_dispatcher_{"main"};
  std::unique_ptr<AdminServer> admin_;
  std::unique_ptr<AdminServer> readiness_;
  network::Address admin_address_;
  network::Address readiness_address_;
  // Declared before the workers, which use it until they are destroyed.
  std::unique_ptr<DownstreamConnectionLimit> connection_limit_;
  std::vector<std::unique_ptr<Worker>> workers_;
  // Per static listener (snapshot order), the bound address and one socket per worker.
  std::vector<network::Address> bound_addresses_;
  std::vector<std::vector<int>> listen_fds_;
  // Discovered listeners now accepting, by name: config and bound address.
  std::map<std::string, std::pair<ListenerConfigConstSharedPtr, network::Address>>
      dynamic_listeners_;
  bool dynamic_initialized_ = false;
  State state_ = State::kStarting;
  size_t listeners_pending_ = 0;
  int signal_fd_ = -1;
  event::FileEventPtr signal_event_;
  event::TimerPtr drain_timer_;
  // One per cluster with outlier detection: its interval's evaluation, on the main thread.
  // Per cluster (by its info object): active health checks, run here on the main thread once
  // per host for all workers, and the outlier-detection interval timer.
  struct ClusterChecks {
    upstream::ClusterInfoConstSharedPtr info;
    std::unique_ptr<upstream::HealthChecker> health_checker;
    event::TimerPtr outlier_timer;
  };
  std::map<const upstream::ClusterInfoImpl*, std::unique_ptr<ClusterChecks>> cluster_checks_;
  MersenneRandom random_;
  // Every cluster in force (static and discovered), by name.
  std::map<std::string, upstream::ClusterInfoConstSharedPtr> clusters_;
  std::unique_ptr<RouteConfigProviderRegistry> routes_;
  std::unique_ptr<tls::SecretManager> secrets_;
  std::unique_ptr<identity::WorkloadIdentityAgent> identity_;
  std::unique_ptr<XdsManager> xds_;
  std::unique_ptr<config::AdsClient> ads_;
  std::unique_ptr<DnsClusters> dns_;
  std::chrono::steady_clock::time_point drain_deadline_;
  std::chrono::steady_clock::time_point min_drain_deadline_;
  std::chrono::steady_clock::time_point start_time_;
};

}  // namespace remora::server
