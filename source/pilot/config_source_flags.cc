#include "source/pilot/config_source_flags.h"

#include "source/common/common/logger.h"
#include "source/pilot/folder_source.h"
#include "source/pilot/kubernetes_config_source.h"

namespace remora::pilot {

bool SourceFlags::parse(const std::string& flag, const std::string& value, bool& takes_value) {
  takes_value = true;
  if (flag == "--manifests") {
    manifests = value;
  } else if (flag == "--kubeconfig") {
    kubeconfig = value;
  } else if (flag == "--kubernetes") {
    in_cluster = true;
    takes_value = false;
  } else {
    return false;
  }
  return true;
}

std::string SourceFlags::conflict() const {
  int chosen = !manifests.empty() + in_cluster + !kubeconfig.empty();
  if (chosen == 0) {
    return "one of --manifests DIR, --kubernetes or --kubeconfig FILE is required";
  }
  if (chosen > 1) {
    return "--manifests, --kubernetes and --kubeconfig are mutually exclusive (choose one "
           "source)";
  }
  return "";
}

std::unique_ptr<ConfigSource> openConfigSource(const SourceFlags& flags, std::string& error,
                                               kubernetes::ClusterConnection* connection_out) {
  if (!flags.manifests.empty()) {
    std::unique_ptr<ConfigSource> folder = FolderSource::open(flags.manifests, error);
    if (!folder) {
      error = "--manifests: " + error;
    }
    return folder;
  }
  const std::string flag = flags.in_cluster ? "--kubernetes" : "--kubeconfig";
  auto connection = flags.in_cluster ? kubernetes::inClusterConnection()
                                     : kubernetes::kubeconfigConnection(flags.kubeconfig);
  if (!connection.ok()) {
    error = flag + ": " + connection.error();
    return nullptr;
  }
  kubernetes::KubernetesSourceOptions options;
  options.connection = std::move(connection).value();
  if (connection_out) {
    *connection_out = options.connection;
  }
  // "Service: watch: 410 Gone, listing again", "Pod: list: ...: cannot connect: ..."
  options.reflector.log = [](const std::string& line) {
    REMORA_LOG(warn, "kubernetes source: %s", line.c_str());
  };
  auto source = KubernetesConfigSource::create(std::move(options));
  if (!source.ok()) {
    error = flag + ": " + source.error();
    return nullptr;
  }
  std::unique_ptr<KubernetesConfigSource> started = std::move(source).value();
  started->start();
  return started;
}

}  // namespace remora::pilot
