// remora: command line → config → server.

#include <pthread.h>

#include <iostream>
#include <string>
#include <string_view>
#include <vector>

#include "source/common/common/logger.h"
#include "source/common/config/bootstrap_loader.h"
#include "source/common/config/bootstrap_validation.h"
#include "source/common/stats/store_impl.h"
#include "source/server/config_snapshot.h"
#include "source/server/cpu_limit.h"
#include "source/server/options.h"
#include "source/server/server.h"
#include "source/sidecar/capture_main.h"
#include "source/sidecar/wait_ready.h"

namespace {

using remora::config::Errors;
using remora::config::bootstrap::v1::Bootstrap;

// Parses, validates and builds the whole config, collecting every error.
remora::server::ConfigSnapshotConstSharedPtr loadConfig(
    const remora::server::Options& options, Bootstrap& bootstrap, remora::stats::Store& store,
    uint32_t concurrency, std::unique_ptr<remora::server::RouteConfigProviderRegistry>& routes,
    remora::tls::SecretManager& secrets, Errors& errors) {
  bool parsed = options.config_path.empty()
                    ? remora::config::parseBootstrap(options.config_yaml, bootstrap, errors)
                    : remora::config::loadBootstrapFile(options.config_path, bootstrap, errors);
  if (!parsed) return nullptr;
  remora::config::validateBootstrap(bootstrap, errors);
  if (!errors.empty()) return nullptr;
  // Contexts naming the workload identity's secrets may be bound only when it exists.
  if (bootstrap.has_workload_identity()) secrets.enableLocalSecrets();
  routes = std::make_unique<remora::server::RouteConfigProviderRegistry>(
      concurrency, bootstrap.dynamic_resources().has_ads_config());
  return remora::server::buildConfigSnapshot(bootstrap, store, errors, routes.get(), &secrets);
}

}  // namespace

int main(int argc, char** argv) {
  // Log lines carry the thread name; workers name themselves worker_N.
  pthread_setname_np(pthread_self(), "main");
  // Subcommands: `remora iptables ...` sets up traffic capture (an init container's job).
  if (argc >= 2 && std::string_view(argv[1]) == "iptables") {
    return remora::sidecar::runCaptureCommand(std::vector<std::string>(argv + 2, argv + argc),
                                              std::cout, std::cerr);
  }
  // `remora wait-ready`: a postStart hook blocks on it until the proxy has its config.
  if (argc >= 2 && std::string_view(argv[1]) == "wait-ready") {
    return remora::sidecar::runWaitReadyCommand(std::vector<std::string>(argv + 2, argv + argc),
                                                std::cout, std::cerr);
  }
  remora::server::Options options;
  switch (remora::server::parseOptions(argc, argv, options, std::cout, std::cerr)) {
    case remora::server::ParseOutcome::kOk:
      break;
    case remora::server::ParseOutcome::kExitSuccess:
      return 0;
    case remora::server::ParseOutcome::kError:
      return 1;
  }
  remora::log::setLevel(remora::log::parseLevel(options.log_level).value());

  Bootstrap bootstrap;
  auto store = std::make_unique<remora::stats::StoreImpl>();
  Errors errors;
  uint32_t concurrency =
      options.concurrency > 0 ? options.concurrency : remora::server::defaultConcurrency();
  std::unique_ptr<remora::server::RouteConfigProviderRegistry> routes;
  auto secrets = std::make_unique<remora::tls::SecretManager>();
  auto snapshot = loadConfig(options, bootstrap, *store, concurrency, routes, *secrets, errors);
  const std::string source = options.config_path.empty() ? "--config-yaml" : options.config_path;
  if (options.mode == remora::server::Mode::kValidate) {
    if (!snapshot) {
      std::cout << source << ": invalid configuration:\n" << errors.joined();
      return 1;
    }
    std::cout << "OK\n";
    return 0;
  }
  if (!snapshot) {
    std::cerr << source << ": invalid configuration:\n" << errors.joined();
    return 1;
  }
  remora::server::Server server(options, concurrency, std::move(bootstrap), std::move(store),
                                std::move(snapshot), std::move(routes), std::move(secrets));
  return server.run();
}
