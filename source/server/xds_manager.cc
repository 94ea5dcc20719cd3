#include "source/server/xds_manager.h"

#include <google/protobuf/arena.h>
#include <google/protobuf/util/json_util.h>
#include <google/protobuf/util/time_util.h>

#include "source/common/common/logger.h"
#include "source/common/config/bootstrap_validation.h"

namespace remora::server {
namespace {

constexpr std::chrono::milliseconds kDefaultInitialFetchTimeout{15000};
// How long a route configuration may wait for the clusters it names to get endpoints.
constexpr std::chrono::milliseconds kRouteWarmingWait{5000};

std::string edsName(const config::cluster::v1::Cluster& cluster) {
  const auto& name = cluster.eds_cluster_config().service_name();
  return name.empty() ? cluster.name() : name;
}

// "2026-11-23T10:00:00Z" (UTC, seconds).
std::string timestamp(std::chrono::system_clock::time_point when) {
  if (when.time_since_epoch().count() == 0) return "";
  return google::protobuf::util::TimeUtil::ToString(
      google::protobuf::util::TimeUtil::SecondsToTimestamp(
          std::chrono::duration_cast<std::chrono::seconds>(when.time_since_epoch()).count()));
}

std::string toJson(const google::protobuf::Message& message) {
  google::protobuf::util::JsonPrintOptions print;
  print.preserve_proto_field_names = true;
  std::string out;
  if (!google::protobuf::util::MessageToJsonString(message, &out, print).ok()) return "null";
  return out;
}

std::string quoted(const std::string& text) {
  std::string out = "\"";
  for (char c : text) {
    if (c == '"' || c == '\\') out += '\\';
    if (static_cast<unsigned char>(c) < 0x20) continue;
    out += c;
  }
  return out + "\"";
}

std::chrono::milliseconds initialFetchTimeout(const config::core::v1::ConfigSource& source) {
  if (!source.has_initial_fetch_timeout()) return kDefaultInitialFetchTimeout;
  return std::chrono::milliseconds(
      google::protobuf::util::TimeUtil::DurationToMilliseconds(source.initial_fetch_timeout()));
}

}  // namespace

XdsManager::XdsManager(event::Dispatcher& dispatcher, stats::Store& store,
                       const config::bootstrap::v1::Bootstrap& bootstrap,
                       RouteConfigProviderRegistry& routes, DynamicConfigTarget& target,
                       tls::SecretManager* secrets)
    : dispatcher_(dispatcher),
      store_(store),
      bootstrap_(bootstrap),
      routes_(routes),
      target_(target),
      secrets_(secrets) {
  if (secrets_ != nullptr) secrets_->setOnSecretUpdate([this] { onSecretsChanged(); });
  for (const auto& cluster : bootstrap.static_resources().clusters()) {
    static_clusters_.insert(cluster.name());
  }
  warming_clusters_ = &store.gauge("remora_xds_warming_clusters",
                                   "Discovered clusters waiting for their endpoints.", {});
  warming_listeners_ = &store.gauge("remora_xds_warming_listeners",
                                    "Discovered listeners waiting for their routes.", {});
}

XdsManager::~XdsManager() {
  if (secrets_ != nullptr) secrets_->setOnSecretUpdate(nullptr);
}

void XdsManager::watchFile(const std::string& path) {
  if (!watched_paths_.insert(path).second) return;
  files_.push_back(std::make_unique<config::FileSubscription>(dispatcher_, path, *this, store_));
  files_.back()->start();
}

void XdsManager::start() {
  const auto& dynamic = bootstrap_.dynamic_resources();
  std::chrono::milliseconds timeout{0};
  for (const auto* source : {&dynamic.cds_config(), &dynamic.lds_config()}) {
    auto t = initialFetchTimeout(*source);
    if (t.count() > 0 && (timeout.count() == 0 || t < timeout)) timeout = t;
  }
  if (timeout.count() > 0 && (dynamic.has_cds_config() || dynamic.has_lds_config())) {
    initial_fetch_timer_ = dispatcher_.createTimer([this] { onInitialFetchTimeout(); });
    initial_fetch_timer_->enable(timeout);
  }
  // Routes and secrets named by static listeners and clusters.
  for (const auto& path : routes_.paths()) watchFile(path);
  updateRdsInterest();
  updateSdsInterest();
  if (!dynamic.has_cds_config()) {
    cds_received_ = true;
  } else if (!dynamic.cds_config().path().empty()) {
    cds_received_ = true;  // a file is read at once, even when it is missing or bad
    watchFile(dynamic.cds_config().path());
  } else if (interest_ != nullptr) {
    interest_->setInterest(config::kClusterType, {}, true);
  }
  checkInitialization();
}

void XdsManager::onResourceUpdate(std::string_view type_url,
                                  const std::vector<config::DecodedResource>& upserts,
                                  const std::vector<std::string>& removed,
                                  config::UpdateOutcome& outcome) {
  if (type_url == config::kClusterType) {
    onClusters(upserts, removed, outcome);
    cds_received_ = true;
  } else if (type_url == config::kEndpointType) {
    onEndpoints(upserts, removed, outcome);
  } else if (type_url == config::kRouteType) {
    onRoutes(upserts, removed, outcome);
  } else if (type_url == config::kListenerType) {
    onListeners(upserts, removed, outcome);
    lds_received_ = true;
  } else if (type_url == config::kSecretType) {
    onSecrets(upserts, removed, outcome);
  }
  checkInitialization();
}

void XdsManager::setEdsName(DynamicCluster& cluster, const std::string& cluster_name,
                            std::string eds_name) {
  if (!cluster.eds_name.empty()) {
    auto it = eds_users_.find(cluster.eds_name);
    if (it != eds_users_.end()) {
      it->second.erase(cluster_name);
      if (it->second.empty()) eds_users_.erase(it);
    }
  }
  cluster.eds_name = std::move(eds_name);
  if (!cluster.eds_name.empty()) eds_users_[cluster.eds_name].insert(cluster_name);
}

void XdsManager::onClusters(const std::vector<config::DecodedResource>& upserts,
                            const std::vector<std::string>& removed,
                            config::UpdateOutcome& outcome) {
  std::vector<upstream::ClusterInfoConstSharedPtr> live;
  std::vector<std::string> gone;
  for (const auto& resource : upserts) {
    std::string path = "cluster \"" + resource.name + "\"";
    config::cluster::v1::Cluster proto;
    if (!resource.resource->UnpackTo(&proto)) {
      outcome.reject(resource.name, path, "does not decode as a Cluster");
      continue;
    }
    config::Errors errors;
    config::validateCluster(proto, path, errors);
    if (static_clusters_.count(proto.name()) != 0) {
      errors.add(path + ".name", "\"" + proto.name() + "\" is a static cluster");
    }
    std::shared_ptr<network::TransportSocketFactory> transport;
    if (errors.empty()) {
      transport =
          buildClusterTransport(proto, path + ".transport_socket", secrets_, store_, errors);
    }
    if (!errors.empty()) {
      for (const auto& line : errors.lines()) outcome.reject(resource.name, "", line);
      continue;
    }
    DynamicCluster& cluster = clusters_[proto.name()];
    cluster.transport = transport;
    cluster.proto =
        config::PackedProto<config::cluster::v1::Cluster>::fromBytes(resource.resource->value());
    cluster.eds_from_file = !proto.eds_cluster_config().eds_config().path().empty();
    cluster.meta = Meta{resource.version, std::chrono::system_clock::now()};
    bool eds = proto.type() == config::cluster::v1::Cluster::EDS;
    setEdsName(cluster, proto.name(), eds ? edsName(proto) : "");
    if (eds && !proto.eds_cluster_config().eds_config().path().empty()) {
      watchFile(proto.eds_cluster_config().eds_config().path());
    }
    cluster.pending = true;
    promoteCluster(proto.name(), cluster, false, live);
  }
  for (const auto& name : removed) {
    auto it = clusters_.find(name);
    if (it == clusters_.end()) continue;
    if (it->second.active) gone.push_back(name);
    setEdsName(it->second, name, "");
    warming_.erase(name);
    clusters_.erase(it);
  }
  if (!upserts.empty() || !removed.empty()) {
    updateEdsInterest();
    updateSdsInterest();
  }
  countWarmingClusters();
  if (!live.empty() || !gone.empty()) target_.updateClusters(live, gone);
}

void XdsManager::promoteCluster(const std::string& name, DynamicCluster& cluster, bool force,
                                std::vector<upstream::ClusterInfoConstSharedPtr>& live,
                                const config::endpoint::v1::ClusterLoadAssignment* endpoints) {
  std::optional<config::endpoint::v1::ClusterLoadAssignment> unpacked;
  if (endpoints == nullptr && !cluster.eds_name.empty()) {
    auto assignment = endpoints_.find(cluster.eds_name);
    if (assignment != endpoints_.end()) {
      unpacked = assignment->second.proto.unpack();
      endpoints = &*unpacked;
    }
  }
  bool endpoints_ready = cluster.eds_name.empty() || endpoints != nullptr;
  bool secrets_ready = cluster.transport == nullptr || cluster.transport->ready();
  // After the initial wait a new cluster goes live with what it has (no hosts, or handshakes
  // failing until its certificate arrives); a changed one keeps its old version until then.
  bool give_up = force || (initial_timeout_passed_ && cluster.active == nullptr);
  if (!(endpoints_ready && secrets_ready) && !give_up) {
    if (cluster.active == nullptr && warming_.insert(name).second) {
      REMORA_LOG(debug, "cluster %s: warming until %s", name.c_str(),
                 endpoints_ready ? "its secrets arrive"
                                 : ("its endpoints \"" + cluster.eds_name + "\" arrive").c_str());
    }
    return;
  }
  cluster.active = std::make_shared<upstream::ClusterInfoImpl>(cluster.proto.unpack(), store_,
                                                               endpoints, cluster.transport);
  cluster.pending = false;
  if (warming_.erase(name) != 0) REMORA_LOG(debug, "cluster %s: warm, live", name.c_str());
  live.push_back(cluster.active);
}

void XdsManager::onEndpoints(const std::vector<config::DecodedResource>& upserts,
                             const std::vector<std::string>& removed,
                             config::UpdateOutcome& outcome) {
  // The changed assignments, parsed (stored packed, read here once), on an arena so that the
  // transient messages do not fragment the heap around the hosts made from them.
  google::protobuf::Arena arena;
  using Assignment = config::endpoint::v1::ClusterLoadAssignment;
  std::map<std::string, const Assignment*> changed;
  for (const auto& resource : upserts) {
    std::string path = "endpoints \"" + resource.name + "\"";
    auto& proto = *google::protobuf::Arena::CreateMessage<Assignment>(&arena);
    if (!resource.resource->UnpackTo(&proto)) {
      outcome.reject(resource.name, path, "does not decode as a ClusterLoadAssignment");
      continue;
    }
    config::Errors errors;
    config::validateEndpoints(proto, path, errors);
    if (!errors.empty()) {
      for (const auto& line : errors.lines()) outcome.reject(resource.name, "", line);
      continue;
    }
    endpoints_[resource.name] = XdsManager::Assignment{
        config::PackedProto<Assignment>::fromBytes(resource.resource->value()),
        Meta{resource.version, std::chrono::system_clock::now()}};
    changed[resource.name] = &proto;
  }
  for (const auto& name : removed) {
    // Gone from the source: the clusters using it have no hosts now.
    auto& empty = *google::protobuf::Arena::CreateMessage<Assignment>(&arena);
    empty.set_cluster_name(name);
    endpoints_[name] = XdsManager::Assignment{config::PackedProto<Assignment>(empty),
                                              Meta{"", std::chrono::system_clock::now()}};
    changed[name] = &empty;
  }
  if (changed.empty()) return;
  std::vector<upstream::ClusterInfoConstSharedPtr> live;
  // Only the clusters using a changed assignment are touched.
  for (const auto& [eds_name, parsed] : changed) {
    const Assignment& assignment = *parsed;
    auto users = eds_users_.find(eds_name);
    if (users == eds_users_.end()) continue;
    for (const auto& name : users->second) {
      DynamicCluster& cluster = clusters_[name];
      if (cluster.pending) {
        // Its new version may have been waiting for these endpoints.
        promoteCluster(name, cluster, false, live, &assignment);
      } else if (cluster.active) {
        // Same config, new hosts: the workers keep their pools to the hosts that stay.
        cluster.active = upstream::ClusterInfoImpl::withHosts(*cluster.active, assignment);
        live.push_back(cluster.active);
      }
    }
  }
  countWarmingClusters();
  if (!live.empty()) target_.updateClusters(live, {});
}

void XdsManager::applyRoutes(const std::shared_ptr<RdsRouteConfigProvider>& provider,
                             std::shared_ptr<const router::RouteTable> table,
                             std::vector<std::string> clusters) {
  if (!anyWarming(clusters)) {
    held_routes_.erase(provider->name());
    provider->latest = table;
    target_.updateRoutes(provider, std::move(table));
    return;
  }
  REMORA_LOG(debug, "route_config %s: held until its new clusters have endpoints",
             provider->name().c_str());
  held_routes_[provider->name()] = {provider, std::move(table), std::move(clusters)};
  if (!held_routes_timer_) {
    held_routes_timer_ = dispatcher_.createTimer([this] { applyHeldRoutes(true); });
  }
  if (!held_routes_timer_->enabled()) held_routes_timer_->enable(kRouteWarmingWait);
}

bool XdsManager::anyWarming(const std::vector<std::string>& clusters) const {
  return std::any_of(clusters.begin(), clusters.end(),
                     [&](const std::string& name) { return warming_.count(name) != 0; });
}

void XdsManager::applyHeldRoutes(bool force) {
  bool applied = false;
  for (auto it = held_routes_.begin(); it != held_routes_.end();) {
    const auto& held = it->second;
    if (!force && anyWarming(held.clusters)) {
      ++it;
      continue;
    }
    if (force) {
      REMORA_LOG(warn, "route_config %s: applied with clusters still waiting for endpoints",
                 held.provider->name().c_str());
    }
    held.provider->latest = held.table;
    target_.updateRoutes(held.provider, held.table);
    it = held_routes_.erase(it);
    applied = true;
  }
  if (held_routes_.empty() && held_routes_timer_) held_routes_timer_->disable();
  // Listeners waiting for these routes may start now.
  if (applied) activateReadyListeners(nullptr);
}

void XdsManager::countWarmingClusters() {
  if (!held_routes_.empty()) applyHeldRoutes(false);
  warming_cluster_count_ = warming_.size();
  warming_clusters_->set(static_cast<int64_t>(warming_.size()));
}

void XdsManager::onRoutes(const std::vector<config::DecodedResource>& upserts,
                          const std::vector<std::string>& removed, config::UpdateOutcome& outcome) {
  for (const auto& resource : upserts) {
    std::string path = "route_config \"" + resource.name + "\"";
    config::route::v1::RouteConfiguration proto;
    if (!resource.resource->UnpackTo(&proto)) {
      outcome.reject(resource.name, path, "does not decode as a RouteConfiguration");
      continue;
    }
    config::Errors errors;
    // Clusters may arrive later: a route to an unknown cluster answers 503 until then.
    auto table = router::RouteTable::create(
        proto, path, [](std::string_view) { return true; }, errors, bootstrap_.node().namespace_());
    if (!table) {
      for (const auto& line : errors.lines()) outcome.reject(resource.name, "", line);
      continue;
    }
    auto provider = routes_.provider(resource.name);
    provider->proto = config::PackedProto<config::route::v1::RouteConfiguration>::fromBytes(
        resource.resource->value());
    provider->version = resource.version;
    provider->last_updated = std::chrono::system_clock::now();
    std::vector<std::string> clusters;
    for (const auto& vhost : proto.virtual_hosts()) {
      for (const auto& route : vhost.routes()) {
        if (!route.has_route()) continue;
        const auto& action = route.route();
        if (!action.cluster().empty()) clusters.push_back(action.cluster());
        for (const auto& weighted : action.weighted_clusters().clusters()) {
          clusters.push_back(weighted.name());
        }
        for (const auto& mirror : action.request_mirror_policies()) {
          clusters.push_back(mirror.cluster());
        }
      }
    }
    applyRoutes(provider, table, std::move(clusters));
  }
  for (const auto& name : removed) {
    held_routes_.erase(name);
    RdsRouteConfigProvider* provider = routes_.find(name);
    if (provider == nullptr) continue;
    provider->latest = nullptr;
    provider->version.clear();
    provider->last_updated = std::chrono::system_clock::now();
    target_.updateRoutes(routes_.provider(name), nullptr);
  }
  activateReadyListeners(&outcome);
}

bool XdsManager::listenerReady(const DynamicListener& listener) const {
  if (initial_timeout_passed_) return true;
  // Its certificates: a listener whose TLS waits for a secret would fail every handshake.
  for (const auto& chain : listener.config->filter_chains) {
    if (chain.transport && !chain.transport->ready()) return false;
  }
  for (const auto& name : listener.route_names) {
    RdsRouteConfigProvider* provider = routes_.find(name);
    if (provider == nullptr || provider->latest == nullptr) return false;
  }
  return true;
}

void XdsManager::onListeners(const std::vector<config::DecodedResource>& upserts,
                             const std::vector<std::string>& removed,
                             config::UpdateOutcome& outcome) {
  for (const auto& resource : upserts) {
    std::string path = "listener \"" + resource.name + "\"";
    config::listener::v1::Listener proto;
    if (!resource.resource->UnpackTo(&proto)) {
      outcome.reject(resource.name, path, "does not decode as a Listener");
      continue;
    }
    config::Errors errors;
    config::validateListener(proto, path, errors);
    for (const auto& listener : bootstrap_.static_resources().listeners()) {
      if (listener.name() == proto.name()) {
        errors.add(path + ".name", "\"" + proto.name() + "\" is a static listener");
      }
    }
    if (!errors.empty()) {
      for (const auto& line : errors.lines()) outcome.reject(resource.name, "", line);
      continue;
    }
    FactoryContextImpl context(store_, nullptr, true, &routes_);
    context.setSecretManager(secrets_);
    context.setNodeNamespace(bootstrap_.node().namespace_());
    auto config = buildListenerConfig(proto, path, context, store_, errors);
    if (!errors.empty()) {
      for (const auto& line : errors.lines()) outcome.reject(resource.name, "", line);
      continue;
    }
    DynamicListener& listener = listeners_[proto.name()];
    listener.proto = config::PackedProto(proto);
    listener.meta = Meta{resource.version, std::chrono::system_clock::now()};
    listener.config = config;
    listener.warming = true;
    // The route configurations its HTTP connection managers asked for: it waits for them.
    listener.route_names = context.requestedRoutes();
  }
  for (const auto& path : routes_.paths()) watchFile(path);
  updateRdsInterest();
  updateSdsInterest();
  for (const auto& name : removed) {
    auto it = listeners_.find(name);
    if (it == listeners_.end()) continue;
    if (!it->second.warming) target_.removeListener(name);
    listeners_.erase(it);
  }
  activateReadyListeners(&outcome);
}

void XdsManager::activateReadyListeners(config::UpdateOutcome* outcome) {
  int64_t warming = 0;
  for (auto& [name, listener] : listeners_) {
    if (!listener.warming) continue;
    if (!listenerReady(listener)) {
      ++warming;
      continue;
    }
    std::string error;
    if (!target_.addOrUpdateListener(listener.config, error)) {
      REMORA_LOG(error, "listener %s: %s", name.c_str(), error.c_str());
      if (outcome != nullptr) outcome->reject(name, "listener \"" + name + "\"", error);
      continue;
    }
    listener.warming = false;
  }
  warming_listeners_->set(warming);
}

void XdsManager::updateEdsInterest() {
  if (interest_ == nullptr) return;
  std::set<std::string> names;
  for (const auto& [name, cluster] : clusters_) {
    if (!cluster.eds_name.empty() && !cluster.eds_from_file) {
      names.insert(cluster.eds_name);
    }
  }
  interest_->setInterest(config::kEndpointType, names, false);
}

void XdsManager::updateRdsInterest() {
  if (interest_ == nullptr) return;
  std::set<std::string> names;
  for (const auto& [name, count] : routes_.adsNames()) names.insert(name);
  if (!names.empty()) interest_->setInterest(config::kRouteType, names, false);
}

void XdsManager::checkInitialization() {
  bool clusters_warm = warming_cluster_count_ == 0;
  const auto& dynamic = bootstrap_.dynamic_resources();
  if (!lds_started_ && ((cds_received_ && clusters_warm) || initial_timeout_passed_)) {
    lds_started_ = true;
    if (!dynamic.has_lds_config()) {
      lds_received_ = true;
    } else if (!dynamic.lds_config().path().empty()) {
      lds_received_ = true;
      watchFile(dynamic.lds_config().path());
    } else if (interest_ != nullptr) {
      interest_->setInterest(config::kListenerType, {}, true);
    }
  }
  if (initialized_ && first_config_applied_) return;
  bool listeners_warm = true;
  for (const auto& [name, listener] : listeners_) listeners_warm &= !listener.warming;
  bool complete = lds_received_ && listeners_warm && cds_received_ && clusters_warm;
  if (complete && !first_config_applied_) {
    first_config_applied_ = true;
    if (initialized_) REMORA_LOG(info, "first full configuration applied (after the timeout)");
  }
  if (initialized_) return;
  if (complete || initial_timeout_passed_) {
    initialized_ = true;
    if (initial_fetch_timer_) initial_fetch_timer_->disable();
    REMORA_LOG(info, "dynamic configuration initialized: %zu clusters, %zu listeners",
               clusters_.size(), listeners_.size());
    target_.onDynamicConfigInitialized();
  }
}

void XdsManager::onInitialFetchTimeout() {
  if (initialized_) return;
  REMORA_LOG(warn, "initial fetch timeout: going on with what has arrived");
  initial_timeout_passed_ = true;
  std::vector<upstream::ClusterInfoConstSharedPtr> live;
  for (auto& [name, cluster] : clusters_) {
    if (cluster.active == nullptr) promoteCluster(name, cluster, true, live);
  }
  warming_.clear();
  countWarmingClusters();
  if (!live.empty()) target_.updateClusters(live, {});
  checkInitialization();
  activateReadyListeners(nullptr);
  checkInitialization();
}

std::vector<upstream::ClusterInfoConstSharedPtr> XdsManager::activeClusters() const {
  std::vector<upstream::ClusterInfoConstSharedPtr> out;
  for (const auto& [name, cluster] : clusters_) {
    if (cluster.active) out.push_back(cluster.active);
  }
  return out;
}

std::string XdsManager::configDumpJson() const {
  auto entry = [](const Meta& meta, const char* field, const std::string& json, bool warming) {
    return "{\"version_info\":" + quoted(meta.version) +
           ",\"last_updated\":" + quoted(timestamp(meta.updated)) +
           (warming ? ",\"warming\":true" : "") + ",\"" + field + "\":" + json + "}";
  };
  std::string clusters, endpoints, routes, listeners;
  for (const auto& [name, cluster] : clusters_) {
    if (!clusters.empty()) clusters += ",";
    clusters +=
        entry(cluster.meta, "cluster", toJson(cluster.proto.unpack()), cluster.active == nullptr);
  }
  for (const auto& [name, assignment] : endpoints_) {
    if (!endpoints.empty()) endpoints += ",";
    endpoints +=
        entry(assignment.meta, "endpoint_config", toJson(assignment.proto.unpack()), false);
  }
  for (const auto& [name, provider] : routes_.providers()) {
    if (!routes.empty()) routes += ",";
    routes += entry(Meta{provider->version, provider->last_updated}, "route_config",
                    provider->latest ? toJson(provider->proto.unpack()) : "null",
                    provider->latest == nullptr);
  }
  for (const auto& [name, listener] : listeners_) {
    if (!listeners.empty()) listeners += ",";
    listeners +=
        entry(listener.meta, "listener", toJson(listener.proto.unpack()), listener.warming);
  }
  std::string sources;
  for (const auto& file : files_) {
    if (!sources.empty()) sources += ",";
    sources += "{\"path\":" + quoted(file->path()) +
               ",\"version_info\":" + quoted(file->version()) +
               ",\"last_updated\":" + quoted(timestamp(file->lastUpdated())) +
               ",\"last_error\":" + quoted(file->lastError()) + "}";
  }
  return "\"dynamic_clusters\":[" + clusters + "],\"dynamic_endpoint_configs\":[" + endpoints +
         "],\"dynamic_route_configs\":[" + routes + "],\"dynamic_listeners\":[" + listeners +
         "],\"file_sources\":[" + sources + "]";
}

}  // namespace remora::server
