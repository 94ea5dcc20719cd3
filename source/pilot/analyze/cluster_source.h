#pragma once

// The config source `remora-pilot analyze` reads: a folder (DIR), or the Kubernetes API server
// (--kubernetes in a pod, --kubeconfig FILE elsewhere) through pilot's own Kubernetes source,
// waited on until its first complete sync so that the analysis sees the whole cluster and not
// the part listed so far.

#include <chrono>
#include <memory>
#include <string>

#include "source/pilot/config_source.h"

namespace remora::pilot::analyze {

struct AnalyzedSource {
  std::string dir;          // DIR
  bool in_cluster = false;  // --kubernetes
  std::string kubeconfig;   // --kubeconfig FILE
  // How long the API server gets for its first complete sync (--sync-timeout).
  std::chrono::milliseconds sync_timeout{30'000};

  // "" when exactly one of DIR, --kubernetes and --kubeconfig is given, else what is wrong.
  std::string conflict() const;
};

// Opens the chosen source; for the API server, starts it and waits up to sync_timeout for the
// first complete sync. Nullptr with `error` naming the input and what is wrong: "DIR: folder
// \"/x\" does not exist", "--kubeconfig: /x: No such file or directory", "--kubeconfig:
// Kubernetes API server https://...: no complete sync within 1s (not listed: Pod, Service)".
std::unique_ptr<ConfigSource> openAnalyzedSource(const AnalyzedSource& chosen, std::string& error);

}  // namespace remora::pilot::analyze
