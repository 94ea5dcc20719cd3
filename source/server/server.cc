#include "source/server/server.h"

#include <google/protobuf/util/json_util.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <csignal>
#include <cstring>
#include <fstream>

#include "source/common/common/logger.h"
#include "source/common/identity/control_plane_tls.h"
#include "source/common/network/listen_socket.h"
#include "source/common/stats/process_stats.h"
#include "source/server/admin/stats_handler.h"

namespace remora::server {
namespace {
constexpr std::chrono::milliseconds kDrainPollInterval{50};

std::string jsonEscape(const std::string& text) {
  std::string out;
  for (char c : text) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (c == '\n') {
      out += "\\n";
    } else if (static_cast<unsigned char>(c) >= 0x20) {
      out += c;
    }
  }
  return out;
}
}  // namespace

Server::Server(const Options& options, uint32_t concurrency,
               config::bootstrap::v1::Bootstrap bootstrap, std::unique_ptr<stats::Store> store,
               ConfigSnapshotConstSharedPtr snapshot,
               std::unique_ptr<RouteConfigProviderRegistry> routes,
               std::unique_ptr<tls::SecretManager> secrets)
    : options_(options),
      concurrency_(concurrency),
      bootstrap_(std::move(bootstrap)),
      store_(std::move(store)),
      snapshot_(std::move(snapshot)),
      routes_(routes ? std::move(routes)
                     : std::make_unique<RouteConfigProviderRegistry>(concurrency, false)),
      secrets_(secrets ? std::move(secrets) : std::make_unique<tls::SecretManager>()),
      start_time_(std::chrono::steady_clock::now()) {}

Server::~Server() {
  for (auto& worker : workers_) worker->stop();
  for (auto& fds : listen_fds_) {
    for (int fd : fds) {
      if (fd >= 0) ::close(fd);
    }
  }
  if (signal_fd_ >= 0) ::close(signal_fd_);
}

std::string Server::clusterHostLines(const upstream::ClusterInfoImpl& cluster,
                                     const upstream::Host& host) {
  // Envoy's /clusters layout: cluster::host::field::value, one field per line.
  std::string prefix = cluster.name() + "::" + host.address.asString() + "::";
  uint32_t flags = host.health_flags.load(std::memory_order_relaxed);
  std::string health = flags == 0 ? "healthy" : "";
  if (flags & upstream::Host::kFailedActiveHealthCheck) health += "/failed_active_hc";
  if (flags & upstream::Host::kOutlierEjected) health += "/failed_outlier_check";
  uint32_t ejections = 0;
  if (auto* detector = cluster.outlierDetector()) ejections = detector->state(host).ejections;
  auto line = [&](const char* field, const std::string& value) {
    return prefix + field + "::" + value + "\n";
  };
  return line("weight", std::to_string(host.weight)) + line("health_flags", health) +
         line("outlier_ejections", std::to_string(ejections)) +
         line("rq_active", std::to_string(host.active_requests.load())) +
         line("rq_total", std::to_string(host.requests_total.load())) +
         line("rq_error", std::to_string(host.errors_total.load()));
}

void Server::startChecks(const upstream::ClusterInfoConstSharedPtr& cluster) {
  auto checks = std::make_unique<ClusterChecks>();
  checks->info = cluster;
  if (const auto& hc = cluster->healthCheck()) {
    checks->health_checker = std::make_unique<upstream::HealthChecker>(
        *hc, cluster->name(), cluster->hosts(), main_dispatcher_, random_, *store_);
    checks->health_checker->start();
  }
  if (upstream::OutlierDetector* detector = cluster->outlierDetector()) {
    ClusterChecks* raw = checks.get();
    checks->outlier_timer = main_dispatcher_.createTimer([this, detector, raw] {
      detector->evaluate(main_dispatcher_.timeSource().monotonicTime());
      raw->outlier_timer->enable(detector->config().interval);
    });
    checks->outlier_timer->enable(detector->config().interval);
  }
  if (checks->health_checker || checks->outlier_timer) {
    cluster_checks_.emplace(cluster.get(), std::move(checks));
  }
}

void Server::stopChecks(const upstream::ClusterInfoImpl* info) { cluster_checks_.erase(info); }

void Server::updateClusters(const std::vector<upstream::ClusterInfoConstSharedPtr>& upserts,
                            const std::vector<std::string>& removed) {
  for (const auto& name : removed) {
    auto it = clusters_.find(name);
    if (it == clusters_.end()) continue;
    stopChecks(it->second.get());
    clusters_.erase(it);
    if (dns_) dns_->untrack(name);
  }
  for (const auto& info : upserts) {
    auto& slot = clusters_[info->name()];
    if (slot) stopChecks(slot.get());
    slot = info;
    startChecks(info);
    // A DNS cluster's hosts come from resolving its names; its own host updates come back
    // here with the same config.
    if (dns_ && info->usesDns() && dns_->trackedConfig(info->name()) != info->configId()) {
      dns_->track(info);
    } else if (dns_ && !info->usesDns() && dns_->trackedConfig(info->name()) != 0) {
      dns_->untrack(info->name());
    }
  }
  // Make before break: the workers see a cluster only once it is complete.
  for (auto& worker : workers_) worker->updateClusters(upserts, removed);
}

void Server::updateRoutes(const std::shared_ptr<RdsRouteConfigProvider>& provider,
                          std::shared_ptr<const router::RouteTable> table) {
  for (auto& worker : workers_) worker->setRoutes(provider, table);
}

bool Server::addOrUpdateListener(ListenerConfigConstSharedPtr listener, std::string& error) {
  auto existing = dynamic_listeners_.find(listener->name);
  network::Address address = listener->address;
  // The same address again: new sockets join the old port (SO_REUSEPORT) before the old ones
  // close, so no connection attempt is refused in between.
  if (existing != dynamic_listeners_.end() && existing->second.first->address == address) {
    address = existing->second.second;
  }
  std::vector<int> fds;
  for (uint32_t w = 0; w < concurrency_; ++w) {
    int fd = network::createListenSocket(address, true, error);
    if (fd < 0) {
      error = "cannot listen on " + address.asString() + ": " + error;
      for (int open_fd : fds) ::close(open_fd);
      return false;
    }
    if (w == 0) address = network::boundAddress(fd);
    fds.push_back(fd);
  }
  for (size_t w = 0; w < workers_.size(); ++w) {
    workers_[w]->addListener(listener, fds[w], nullptr);
    // The listener it replaces stops accepting and drains.
    workers_[w]->drainListeners(listener->name, listener.get(),
                                std::chrono::seconds(options_.drain_time_s));
  }
  REMORA_LOG(info, "listener %s %s on %s", listener->name.c_str(),
             existing == dynamic_listeners_.end() ? "added" : "updated",
             address.asString().c_str());
  dynamic_listeners_[listener->name] = {listener, address};
  publishOwnAddresses();
  return true;
}

void Server::publishOwnAddresses() {
  std::vector<network::Address> addresses = bound_addresses_;
  for (const auto& [name, entry] : dynamic_listeners_) addresses.push_back(entry.second);
  if (admin_address_.valid()) addresses.push_back(admin_address_);
  if (readiness_address_.valid()) addresses.push_back(readiness_address_);
  for (auto& worker : workers_) worker->setOwnAddresses(addresses);
}

void Server::removeListener(const std::string& name) {
  if (dynamic_listeners_.erase(name) == 0) return;
  publishOwnAddresses();
  for (auto& worker : workers_) {
    worker->drainListeners(name, nullptr, std::chrono::seconds(options_.drain_time_s));
  }
  REMORA_LOG(info, "listener %s removed: draining its connections", name.c_str());
}

void Server::onDynamicConfigInitialized() {
  dynamic_initialized_ = true;
  maybeGoLive();
}

void Server::maybeGoLive() {
  if (state_ == State::kStarting && listeners_pending_ == 0 && dynamic_initialized_) {
    state_ = State::kLive;
    REMORA_LOG(info, "all listeners are up and the first configuration is applied: live");
  }
}

int Server::run() {
  // Signals are read from a signalfd on the main loop; blocking them here, before any worker
  // thread exists, keeps them from being delivered to a worker instead.
  setUpSignals();
  std::string error;
  if (!bindListeners(error) || !startAdmin(error)) {
    REMORA_LOG(critical, "startup failed: %s", error.c_str());
    return 1;
  }
  stats::registerProcessStats(*store_, static_cast<int>(concurrency_), start_time_);
  setUpConnectionLimit();

  for (uint32_t i = 0; i < concurrency_; ++i) {
    workers_.push_back(std::make_unique<Worker>(i, *connection_limit_));
    workers_.back()->start();
  }
  publishOwnAddresses();
  dns_ = std::make_unique<DnsClusters>(
      main_dispatcher_, *store_, bootstrap_.dns_resolv_conf(),
      [this](upstream::ClusterInfoConstSharedPtr info) { updateClusters({info}, {}); });
  updateClusters(snapshot_->clusters, {});
  // Dynamic resources next: file sources are read now, the control plane's arrive later.
  // Either way they reach the workers through posts queued after the static clusters.
  secrets_->start(main_dispatcher_);
  if (bootstrap_.has_workload_identity()) {
    identity_ = std::make_unique<identity::WorkloadIdentityAgent>(
        main_dispatcher_, *secrets_, *store_, identity::AgentSettings::fromBootstrap(bootstrap_));
    identity_->start();
  }
  xds_ = std::make_unique<XdsManager>(main_dispatcher_, *store_, bootstrap_, *routes_, *this,
                                      secrets_.get());
  if (bootstrap_.dynamic_resources().has_ads_config()) {
    const auto& ads_config = bootstrap_.dynamic_resources().ads_config();
    config::GrpcStreamOptions stream_options;
    if (ads_config.has_workload_identity_tls()) {
      // Validation made sure of the workload identity that supplies the secrets.
      stream_options.authority = identity::discoveryServerName(bootstrap_);
      stream_options.transport =
          identity::workloadIdentityTransport(stream_options.authority, *secrets_, *store_, error);
      if (!stream_options.transport) {
        REMORA_LOG(critical, "startup failed: %s", error.c_str());
        for (auto& worker : workers_) worker->stop();
        return 1;
      }
    }
    ads_ = std::make_unique<config::AdsClient>(main_dispatcher_, ads_config, bootstrap_.node(),
                                               *xds_, *store_, random_, std::move(stream_options));
    xds_->setResourceInterest(ads_.get());
  }
  xds_->start();
  if (ads_) ads_->start();

  listeners_pending_ = snapshot_->listeners.size() * workers_.size();
  auto on_listener_added = [this] {
    main_dispatcher_.post([this] {
      --listeners_pending_;
      maybeGoLive();
    });
  };
  for (size_t l = 0; l < snapshot_->listeners.size(); ++l) {
    for (size_t w = 0; w < workers_.size(); ++w) {
      workers_[w]->addListener(snapshot_->listeners[l], listen_fds_[l][w], on_listener_added);
      listen_fds_[l][w] = -1;  // the worker owns it now
    }
  }
  maybeGoLive();
  REMORA_LOG(info, "remora started: %u workers, %zu listeners, %zu clusters", concurrency_,
             snapshot_->listeners.size() + dynamic_listeners_.size(), clusters_.size());
  main_dispatcher_.run();
  for (auto& worker : workers_) worker->stop();
  if (admin_) admin_->stop();
  if (readiness_) readiness_->stop();
  REMORA_LOG(info, "exiting");
  return 0;
}

void Server::setUpConnectionLimit() {
  DescriptorBudget budget = DescriptorBudget::forThisProcess();
  uint64_t max = budget.default_max_connections;
  const char* source = "derived from the descriptor limit";
  if (options_.max_downstream_connections) {
    max = *options_.max_downstream_connections;
    source = "--max-downstream-connections";
  } else if (bootstrap_.has_max_downstream_connections()) {
    max = bootstrap_.max_downstream_connections().value();
    source = "max_downstream_connections";
  }
  connection_limit_ = std::make_unique<DownstreamConnectionLimit>(max, budget.descriptor_ceiling);
  store_
      ->gauge("remora_server_downstream_connections_limit",
              "Downstream connections allowed open at once over all listeners (0: no limit).", {})
      .set(static_cast<int64_t>(max));
  REMORA_LOG(info, "downstream connections: at most %llu (%s); descriptors from %d kept free",
             static_cast<unsigned long long>(max), source, budget.descriptor_ceiling);
}

bool Server::bindListeners(std::string& error) {
  for (const auto& listener : snapshot_->listeners) {
    std::vector<int> fds;
    network::Address address = listener->address;
    for (uint32_t w = 0; w < concurrency_; ++w) {
      int fd = network::createListenSocket(address, true, error);
      if (fd < 0) {
        error = "listener " + listener->name + ": " + error;
        for (int open_fd : fds) ::close(open_fd);
        return false;
      }
      // With port 0, the first socket picks the port and the others join it.
      if (w == 0) address = network::boundAddress(fd);
      fds.push_back(fd);
    }
    REMORA_LOG(info, "listener %s on %s", listener->name.c_str(), address.asString().c_str());
    bound_addresses_.push_back(address);
    listen_fds_.push_back(std::move(fds));
  }
  return true;
}

bool Server::startAdmin(std::string& error) {
  std::string ip = "127.0.0.1";
  uint32_t port = 15000;
  if (bootstrap_.admin().has_address()) {
    ip = bootstrap_.admin().address().socket_address().address();
    port = bootstrap_.admin().address().socket_address().port_value();
  }
  admin_ = std::make_unique<AdminServer>(main_dispatcher_);
  addAdminHandlers();
  if (!admin_->start(ip, static_cast<uint16_t>(port), error)) {
    error = "admin: " + error;
    return false;
  }
  if (bootstrap_.admin().has_readiness_address()) {
    const auto& sa = bootstrap_.admin().readiness_address().socket_address();
    readiness_ = std::make_unique<AdminServer>(main_dispatcher_);
    readiness_->addHandler("/healthz/ready", "200 once configured; 503 while starting or draining",
                           false, [this](const AdminRequest& request) {
                             // Stricter than /ready: an initial fetch timeout does not count as
                             // configured.
                             if (state_ == State::kLive && xds_ && !xds_->firstConfigApplied()) {
                               return AdminResponse{
                                   503, "text/plain; charset=utf-8",
                                   "WAITING_FOR_CONFIG (initial fetch timed out)\n"};
                             }
                             return readyResponse(request);
                           });
    if (!readiness_->start(sa.address(), static_cast<uint16_t>(sa.port_value()), error)) {
      error = "admin.readiness_address: " + error;
      return false;
    }
    readiness_address_ =
        network::Address::fromIpPort(sa.address(), readiness_->port()).value_or(network::Address());
  }
  auto bound = network::Address::fromIpPort(ip, admin_->port());
  if (bound) admin_address_ = *bound;
  std::string address = bound ? bound->asString() : ip + ":" + std::to_string(admin_->port());
  if (!options_.admin_address_path.empty()) {
    // Written whole under a temporary name, then renamed, so a reader never sees half of it.
    std::string tmp = options_.admin_address_path + ".tmp";
    std::ofstream(tmp) << address << "\n";
    if (std::rename(tmp.c_str(), options_.admin_address_path.c_str()) != 0) {
      error = "cannot write " + options_.admin_address_path + ": " + std::strerror(errno);
      return false;
    }
  }
  return true;
}

AdminResponse Server::readyResponse(const AdminRequest&) const {
  switch (state_) {
    case State::kLive:
      return AdminResponse{200, "text/plain; charset=utf-8", "LIVE\n"};
    case State::kStarting:
      return AdminResponse{503, "text/plain; charset=utf-8", "PRE_INITIALIZING\n"};
    case State::kDraining:
      break;
  }
  return AdminResponse{503, "text/plain; charset=utf-8", "DRAINING\n"};
}

void Server::addAdminHandlers() {
  admin_->addHandler("/ready", "200 LIVE when serving; 503 while starting or draining", false,
                     [this](const AdminRequest& request) { return readyResponse(request); });
  admin_->addHandler(
      "/config_dump", "the running configuration as JSON", false, [this](const AdminRequest&) {
        google::protobuf::util::JsonPrintOptions print;
        print.add_whitespace = true;
        print.preserve_proto_field_names = true;
        AdminResponse response{200, "application/json", ""};
        std::string bootstrap;
        auto status = google::protobuf::util::MessageToJsonString(bootstrap_, &bootstrap, print);
        if (!status.ok()) {
          return AdminResponse{500, "text/plain; charset=utf-8",
                               std::string(status.message()) + "\n"};
        }
        // The bootstrap as given, then every dynamic resource with its version and the time
        // it was applied.
        response.body = "{\"bootstrap\":" + bootstrap;
        if (xds_) response.body += "," + xds_->configDumpJson();
        if (ads_) {
          response.body +=
              ",\"ads\":{\"connected\":" + std::string(ads_->connected() ? "true" : "false") +
              ",\"mode\":\"" + (ads_->delta() ? "delta" : "sotw") + "\",\"types\":[";
          bool first = true;
          for (const auto& [type, status] : ads_->status()) {
            response.body += std::string(first ? "" : ",") + "{\"type_url\":\"" + type +
                             "\",\"version_info\":\"" + jsonEscape(status.version) +
                             "\",\"nonce\":\"" + jsonEscape(status.nonce) + "\",\"last_error\":\"" +
                             jsonEscape(status.last_error) + "\"}";
            first = false;
          }
          response.body += "]}";
        }
        response.body += "}\n";
        return response;
      });
  auto prometheus = prometheusHandler(*store_);
  admin_->addHandler("/stats/prometheus", "all metrics in Prometheus text format", false,
                     prometheus);
  admin_->addHandler("/metrics", "same as /stats/prometheus", false, prometheus);
  admin_->addHandler("/listeners", "listeners and the addresses they are bound to", false,
                     [this](const AdminRequest&) {
                       AdminResponse response;
                       for (size_t i = 0; i < snapshot_->listeners.size(); ++i) {
                         response.body += snapshot_->listeners[i]->name +
                                          "::" + bound_addresses_[i].asString() + "\n";
                       }
                       for (const auto& [name, entry] : dynamic_listeners_) {
                         response.body += name + "::" + entry.second.asString() + "\n";
                       }
                       if (readiness_) {
                         response.body += "readiness::" + readiness_address_.asString() + "\n";
                       }
                       return response;
                     });
  admin_->addHandler("/clusters", "clusters and their hosts: weight, health, ejections, requests",
                     false, [this](const AdminRequest&) {
                       AdminResponse response;
                       for (const auto& [name, cluster] : clusters_) {
                         for (const auto& host : cluster->hosts()) {
                           response.body += clusterHostLines(*cluster, *host);
                         }
                         if (cluster->hosts().empty()) response.body += cluster->name() + "::\n";
                       }
                       return response;
                     });
  admin_->addHandler("/certs", "TLS certificates in use: SANs, issuer, expiry (JSON)", false,
                     [this](const AdminRequest&) {
                       AdminResponse response;
                       response.content_type = "application/json";
                       response.body = secrets_->certsJson();
                       return response;
                     });
  admin_->addHandler("/logging", "GET: the log level; POST ?level=LEVEL: change it", false,
                     [](const AdminRequest& request) {
                       AdminResponse response;
                       if (request.method == "POST") {
                         auto eq = request.query.find("level=");
                         std::string name =
                             eq == std::string::npos ? "" : request.query.substr(eq + 6);
                         name = name.substr(0, name.find('&'));
                         auto level = log::parseLevel(name);
                         if (!level) {
                           return AdminResponse{400, "text/plain; charset=utf-8",
                                                "unknown level \"" + name +
                                                    "\": use trace, debug, info, warn, error, "
                                                    "critical or off\n"};
                         }
                         log::setLevel(*level);
                         REMORA_LOG(info, "log level set to %s", name.c_str());
                       }
                       response.body = "level: " + std::string(log::levelName(log::level())) + "\n";
                       return response;
                     });
  admin_->addHandler("/quitquitquit", "exit now, without a drain (e.g. when a Job is done)", true,
                     [this](const AdminRequest&) {
                       // After the reply is sent.
                       main_dispatcher_.post([this] {
                         REMORA_LOG(info, "POST /quitquitquit: exiting now, %lu connections open",
                                    openConnections());
                         main_dispatcher_.exit();
                       });
                       return AdminResponse{200, "text/plain; charset=utf-8", "OK\n"};
                     });
}

void Server::setUpSignals() {
  sigset_t mask;
  sigemptyset(&mask);
  sigaddset(&mask, SIGTERM);
  sigaddset(&mask, SIGINT);
  sigaddset(&mask, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &mask, nullptr);
  // Writes to a peer that went away must fail with EPIPE, not kill the process.
  std::signal(SIGPIPE, SIG_IGN);
  signal_fd_ = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
  signal_event_ = main_dispatcher_.createFileEvent(
      signal_fd_, [this](uint32_t) { onSignal(); }, event::kRead);
}

void Server::onSignal() {
  signalfd_siginfo info;
  while (::read(signal_fd_, &info, sizeof(info)) == sizeof(info)) {
    switch (info.ssi_signo) {
      case SIGTERM:
        startDrain("SIGTERM");
        break;
      case SIGINT:
        startDrain("SIGINT");
        break;
      case SIGHUP:
        REMORA_LOG(info, "SIGHUP received: nothing to reload, ignored");
        break;
      default:
        break;
    }
  }
}

void Server::startDrain(const char* why) {
  if (state_ == State::kDraining) return;
  state_ = State::kDraining;
  REMORA_LOG(info,
             "%s: draining for up to %us (outbound listeners keep serving; inbound ones drain "
             "and still accept; others stop accepting)",
             why, options_.drain_time_s);
  for (auto& worker : workers_) worker->drainForShutdown();
  auto now = std::chrono::steady_clock::now();
  drain_deadline_ = now + std::chrono::seconds(options_.drain_time_s);
  min_drain_deadline_ = now + std::chrono::seconds(options_.min_drain_time_s);
  drain_timer_ = main_dispatcher_.createTimer([this] { checkDrainDone(); });
  checkDrainDone();
}

void Server::checkDrainDone() {
  uint64_t open = openConnections();
  auto now = std::chrono::steady_clock::now();
  bool expired = now >= drain_deadline_;
  if ((open == 0 && now >= min_drain_deadline_) || expired) {
    if (open > 0) REMORA_LOG(info, "drain time over; closing %lu connections", open);
    main_dispatcher_.exit();
    return;
  }
  drain_timer_->enable(kDrainPollInterval);
}

uint64_t Server::openConnections() const {
  uint64_t total = 0;
  for (const auto& worker : workers_) total += worker->openConnections();
  return total;
}

}  // namespace remora::server
