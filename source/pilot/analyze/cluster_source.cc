#include "source/pilot/analyze/cluster_source.h"

#include "source/pilot/config_source_flags.h"
#include "source/pilot/folder_source.h"
#include "source/pilot/kubernetes_config_source.h"

namespace remora::pilot::analyze {
namespace {

std::string formatTimeout(std::chrono::milliseconds timeout) {
  if (timeout.count() % 1000 == 0) {
    return std::to_string(timeout.count() / 1000) + "s";
  }
  return std::to_string(timeout.count()) + "ms";
}

std::string joined(const std::vector<std::string>& names) {
  std::string out;
  for (const std::string& name : names) {
    out += (out.empty() ? "" : ", ") + name;
  }
  return out;
}

}  // namespace

std::string AnalyzedSource::conflict() const {
  int chosen = !dir.empty() + in_cluster + !kubeconfig.empty();
  if (chosen == 0) {
    return "one of DIR (the manifest folder), --kubernetes or --kubeconfig FILE is required";
  }
  if (chosen > 1) {
    return "DIR, --kubernetes and --kubeconfig are mutually exclusive (choose one source)";
  }
  return "";
}

std::unique_ptr<ConfigSource> openAnalyzedSource(const AnalyzedSource& chosen, std::string& error) {
  if (!chosen.dir.empty()) {
    std::unique_ptr<ConfigSource> folder = FolderSource::open(chosen.dir, error);
    if (!folder) {
      error = "DIR: " + error;
    }
    return folder;
  }
  // The same source, with the same connection settings and errors, as pilot's own.
  SourceFlags flags;
  flags.in_cluster = chosen.in_cluster;
  flags.kubeconfig = chosen.kubeconfig;
  std::unique_ptr<ConfigSource> source = openConfigSource(flags, error);
  if (!source) {
    return nullptr;
  }
  const auto deadline = std::chrono::steady_clock::now() + chosen.sync_timeout;
  while (!source->synced()) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      break;
    }
    // Woken by every kind's first list; the bound keeps a missed wake-up short.
    source->waitForChange(std::min(left, std::chrono::milliseconds(100)));
  }
  if (!source->synced()) {
    const std::string flag = chosen.in_cluster ? "--kubernetes" : "--kubeconfig";
    auto* kubernetes = dynamic_cast<KubernetesConfigSource*>(source.get());
    error = flag + ": " + source->describe() + ": no complete sync within " +
            formatTimeout(chosen.sync_timeout);
    if (kubernetes) {
      error += " (not listed: " + joined(kubernetes->unsyncedKinds()) + ")";
    }
    return nullptr;
  }
  return source;
}

}  // namespace remora::pilot::analyze
