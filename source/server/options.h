#pragma once

// The proxy's command line, following Envoy's flag names where Remora has the same feature.
// Parsing is a pure function of argv: it never exits the process and never touches globals,
// so main() decides what to do with the outcome and tests can call it freely.

#include <cstdint>
#include <optional>
#include <ostream>
#include <string>

namespace remora::server {

enum class Mode {
  kServe,     // load the config and serve traffic (default)
  kValidate,  // load and check the config, then exit; nothing is bound
};

struct Options {
  // -c / --config-path FILE: bootstrap file (YAML or JSON). Exactly one of config_path and
  // config_yaml is set after a successful parse.
  std::string config_path;
  // --config-yaml TEXT: the bootstrap inline, handy in tests and one-liners.
  std::string config_yaml;
  // --mode serve|validate
  Mode mode = Mode::kServe;
  // --concurrency N (1..1024): worker threads. 0 means "not given": the caller uses
  // defaultConcurrency() from cpu_limit.h, i.e. the container's CPU limit.
  uint32_t concurrency = 0;
  // -l / --log-level trace|debug|info|warn|warning|error|critical|off. Stored by its
  // canonical name (remora::log::levelName), so "warning" becomes "warn".
  std::string log_level = "info";
  // --drain-time-s N: on SIGTERM, SIGINT or POST /quitquitquit, how long open connections may
  // take to finish (listeners are closed at once) before the process exits; later also how long
  // a changed listener drains. Envoy defaults to 600 s for edge proxies; a sidecar's connections
  // come from one pod and its rollouts should be quick, so Remora uses 5 s.
  uint32_t drain_time_s = 5;
  // --min-drain-time-s N: on shutdown, keep serving (and accepting on INBOUND listeners) for at
  // least N seconds even when no connection is open. A pod's endpoint removal and its SIGTERM
  // happen together; peers still send it new connections until the removal reaches them, and a
  // proxy that had already exited would refuse those (or reset ones waiting in its accept
  // queue). Istio's agent waits the same way (MINIMUM_DRAIN_DURATION). At most drain_time_s.
  uint32_t min_drain_time_s = 0;
  // --admin-address-path FILE: once the admin listener is bound, its address
  // ("127.0.0.1:PORT") is written there. Lets tests bind the admin port to 0.
  std::string admin_address_path;
  // --max-downstream-connections N: downstream connections open at once over all listeners
  // (0: no limit). Overrides the bootstrap's max_downstream_connections; unset, that one or a
  // default derived from the descriptor limit applies.
  std::optional<uint32_t> max_downstream_connections;
  // -h / --help and --version: print and exit successfully.
  bool show_help = false;
  bool show_version = false;
};

enum class ParseOutcome {
  kOk,           // options are complete and valid: run
  kExitSuccess,  // help or version was printed to `out`: exit 0
  kError,        // a message naming the offending flag was printed to `err`: exit non-zero
};

// Parses argv[1..argc-1] into `options` (which should start default-constructed). Accepts
// "--flag value", "--flag=value", and the short forms "-c FILE", "-l LEVEL", "-h". A repeated
// flag keeps its last value. Unknown flags, positional arguments, missing or malformed values
// are errors. Help and version are printed only if the whole command line parses.
ParseOutcome parseOptions(int argc, const char* const* argv, Options& options, std::ostream& out,
                          std::ostream& err);

// The text printed by --help.
std::string usageText();

}  // namespace remora::server
