#pragma once

// The proxy's dynamic resources, on the main thread: clusters (CDS), their endpoints (EDS),
// route configurations (RDS) and listeners (LDS), from watched files and/or the control
// plane's aggregated stream. Each update is validated resource by resource (a bad one keeps
// its last good version and is reported), then applied make-before-break through the
// DynamicConfigTarget (the server), which hands the result to the workers.
//
// Warming: an EDS cluster goes live only once its endpoints arrived; a listener only once the
// route configurations it names arrived; either goes live anyway when the source's initial
// fetch timeout passes. Ordering: listeners are asked for only after the first clusters are
// warm, so routes never point at clusters the proxy has not heard of yet.

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "remora/config/bootstrap/v1/bootstrap.pb.h"
#include "source/common/config/file_subscription.h"
#include "source/common/config/packed_proto.h"
#include "source/common/config/xds_resource.h"
#include "source/common/router/route_table.h"
#include "source/common/upstream/cluster_info_impl.h"
#include "source/interface/event/dispatcher.h"
#include "source/interface/stats/stats.h"
#include "source/server/config_snapshot.h"
#include "source/server/route_config_providers.h"

namespace remora::server {

// What the dynamic configuration changes in the running server (main thread).
class DynamicConfigTarget {
 public:
  virtual ~DynamicConfigTarget() = default;
  // Clusters added or changed, and removed, on every worker; the cost follows the change.
  virtual void updateClusters(const std::vector<upstream::ClusterInfoConstSharedPtr>& upserts,
                              const std::vector<std::string>& removed) = 0;
  // Every worker starts using `table` for `provider` (null: no routes, 404).
  virtual void updateRoutes(const std::shared_ptr<RdsRouteConfigProvider>& provider,
                            std::shared_ptr<const router::RouteTable> table) = 0;
  // Starts a listener, or replaces the one with its name: new connections get the new config
  // and the old connections drain. False (with `error`) when its socket cannot be bound.
  virtual bool addOrUpdateListener(ListenerConfigConstSharedPtr listener, std::string& error) = 0;
  // Stops accepting on the listener; its connections drain.
  virtual void removeListener(const std::string& name) = 0;
  // The first full configuration is applied (or its wait timed out).
  virtual void onDynamicConfigInitialized() = 0;
};

using config::ResourceInterest;

class XdsManager : public config::SubscriptionCallbacks {
 public:
  // `secrets` (may be null: no TLS) gives discovered listeners and clusters their
  // certificates.
  XdsManager(event::Dispatcher& dispatcher, stats::Store& store,
             const config::bootstrap::v1::Bootstrap& bootstrap, RouteConfigProviderRegistry& routes,
             DynamicConfigTarget& target, tls::SecretManager* secrets = nullptr);
  ~XdsManager() override;

  // The control plane's stream, when the bootstrap names one (set before start()).
  void setResourceInterest(ResourceInterest* interest) { interest_ = interest; }
  // Reads the file sources and asks the control plane; arms the initial fetch timeouts.
  void start();
  bool initialized() const { return initialized_; }
  // Every listener and cluster of the first configuration has arrived and is warm. Unlike
  // initialized(), not set by the initial fetch timeout: what readiness waits for.
  bool firstConfigApplied() const { return first_config_applied_; }

  void onResourceUpdate(std::string_view type_url,
                        const std::vector<config::DecodedResource>& upserts,
                        const std::vector<std::string>& removed,
                        config::UpdateOutcome& outcome) override;

  // The dynamic part of /config_dump: every resource with its version and when it was applied,
  // warming ones marked. A JSON object's members (no braces).
  std::string configDumpJson() const;
  // Clusters now live, static ones excluded.
  std::vector<upstream::ClusterInfoConstSharedPtr> activeClusters() const;

 private:
  struct Meta {
    std::string version;
    std::chrono::system_clock::time_point updated{};
  };
  // Resources are kept packed (config/packed_proto.h): with thousands of services the parsed
  // copies would cost more than the proxy's own objects built from them.
  struct DynamicCluster {
    config::PackedProto<config::cluster::v1::Cluster> proto;
    Meta meta;
    std::string eds_name;                        // EDS clusters only
    bool eds_from_file = false;                  // its endpoints come from a file, not ADS
    upstream::ClusterInfoConstSharedPtr active;  // null while warming
    // Its TLS (null: plaintext), kept across endpoint updates so that they reuse the context.
    std::shared_ptr<network::TransportSocketFactory> transport;
    // `proto` is not live yet: it waits for its endpoints or its secrets (the previous version,
    // if any, serves meanwhile).
    bool pending = false;
  };
  struct Assignment {
    config::PackedProto<config::endpoint::v1::ClusterLoadAssignment> proto;
    Meta meta;
  };
  struct DynamicListener {
    config::PackedProto<config::listener::v1::Listener> proto;
    Meta meta;
    ListenerConfigConstSharedPtr config;
    std::vector<std::string> route_names;
    bool warming = true;
  };

  void onClusters(const std::vector<config::DecodedResource>& upserts,
                  const std::vector<std::string>& removed, config::UpdateOutcome& outcome);
  void onEndpoints(const std::vector<config::DecodedResource>& upserts,
                   const std::vector<std::string>& removed, config::UpdateOutcome& outcome);
  void onRoutes(const std::vector<config::DecodedResource>& upserts,
                const std::vector<std::string>& removed, config::UpdateOutcome& outcome);
  void onListeners(const std::vector<config::DecodedResource>& upserts,
                   const std::vector<std::string>& removed, config::UpdateOutcome& outcome);
  void onSecrets(const std::vector<config::DecodedResource>& upserts,
                 const std::vector<std::string>& removed, config::UpdateOutcome& outcome);
  // A secret arrived: clusters and listeners waiting for it may go live.
  void onSecretsChanged();
  // Asks the control plane for the secrets contexts name, and watches secret files.
  void updateSdsInterest();
  // Makes a pending cluster's config live once its endpoints (EDS) and secrets are there, or
  // at once with `force` (the initial fetch timeout passed) with whatever there is. `endpoints`
  // saves looking up (and unpacking) the assignment the caller has at hand.
  void promoteCluster(const std::string& name, DynamicCluster& cluster, bool force,
                      std::vector<upstream::ClusterInfoConstSharedPtr>& live,
                      const config::endpoint::v1::ClusterLoadAssignment* endpoints = nullptr);
  // Listeners whose routes have all arrived go live.
  void activateReadyListeners(config::UpdateOutcome* outcome);
  bool listenerReady(const DynamicListener& listener) const;
  void updateEdsInterest();
  void countWarmingClusters();
  void updateRdsInterest();
  // Called when something warmed: starts listeners once clusters are warm, and reports the
  // first full configuration.
  void checkInitialization();
  // The initial fetch timeout passed: whatever still waits goes live without it.
  void onInitialFetchTimeout();
  // Make-before-break for routes: a route configuration naming a cluster that is still
  // warming (its endpoints have not arrived) waits until none of its clusters is, or at most
  // kRouteWarmingWait, so requests never see "no cluster" in between.
  void applyRoutes(const std::shared_ptr<RdsRouteConfigProvider>& provider,
                   std::shared_ptr<const router::RouteTable> table,
                   std::vector<std::string> clusters);
  void applyHeldRoutes(bool force);
  bool anyWarming(const std::vector<std::string>& clusters) const;

  event::Dispatcher& dispatcher_;
  stats::Store& store_;
  const config::bootstrap::v1::Bootstrap& bootstrap_;
  RouteConfigProviderRegistry& routes_;
  DynamicConfigTarget& target_;
  tls::SecretManager* secrets_;
  ResourceInterest* interest_ = nullptr;
  std::set<std::string, std::less<>> static_clusters_;

  std::map<std::string, DynamicCluster> clusters_;
  std::map<std::string, Assignment> endpoints_;
  // EDS name -> the clusters that use it, so an endpoint update touches only those.
  std::map<std::string, std::set<std::string>> eds_users_;
  size_t warming_cluster_count_ = 0;
  std::set<std::string> warming_;    // new clusters waiting for their endpoints or secrets
  std::set<std::string> sds_names_;  // asked of the control plane
  void setEdsName(DynamicCluster& cluster, const std::string& cluster_name, std::string eds_name);
  std::map<std::string, DynamicListener> listeners_;
  std::map<std::string, Meta> route_meta_;
  struct HeldRoutes {
    std::shared_ptr<RdsRouteConfigProvider> provider;
    std::shared_ptr<const router::RouteTable> table;
    std::vector<std::string> clusters;
  };
  std::map<std::string, HeldRoutes> held_routes_;  // by route configuration name
  event::TimerPtr held_routes_timer_;

  // Starts watching `path` unless already watched.
  void watchFile(const std::string& path);

  std::vector<std::unique_ptr<config::FileSubscription>> files_;
  std::set<std::string> watched_paths_;
  bool cds_received_ = false;
  bool lds_started_ = false;
  bool lds_received_ = false;
  bool initial_timeout_passed_ = false;
  bool initialized_ = false;
  bool first_config_applied_ = false;
  event::TimerPtr initial_fetch_timer_;
  stats::Gauge* warming_clusters_;
  stats::Gauge* warming_listeners_;
};

}  // namespace remora::server
