// The XdsManager's secrets (SDS): Secret resources from the control plane or files go to the
// SecretManager, the names contexts use are asked for, and what waited for them goes live.

#include "source/common/common/logger.h"
#include "source/server/xds_manager.h"

namespace remora::server {

void XdsManager::onSecrets(const std::vector<config::DecodedResource>& upserts,
                           const std::vector<std::string>& removed,
                           config::UpdateOutcome& outcome) {
  for (const auto& resource : upserts) {
    std::string path = "secret \"" + resource.name + "\"";
    extensions::transport_sockets::tls::v1::Secret proto;
    if (!resource.resource->UnpackTo(&proto)) {
      outcome.reject(resource.name, path, "does not decode as a Secret");
      continue;
    }
    std::string error;
    if (secrets_ == nullptr) {
      outcome.reject(resource.name, path, "this proxy has no TLS");
      continue;
    }
    if (!secrets_->updateSecret(proto, error)) outcome.reject(resource.name, path, error);
  }
  for (const auto& name : removed) {
    if (secrets_ != nullptr) secrets_->removeSecret(name);
  }
}

void XdsManager::onSecretsChanged() {
  std::vector<upstream::ClusterInfoConstSharedPtr> live;
  for (auto& [name, cluster] : clusters_) {
    if (cluster.pending) promoteCluster(name, cluster, false, live);
  }
  countWarmingClusters();
  if (!live.empty()) target_.updateClusters(live, {});
  activateReadyListeners(nullptr);
  checkInitialization();
}

void XdsManager::updateSdsInterest() {
  if (secrets_ == nullptr) return;
  for (const auto& path : secrets_->secretFiles()) watchFile(path);
  auto names = secrets_->wantedSecrets();
  if (interest_ == nullptr || names == sds_names_) return;
  sds_names_ = names;
  interest_->setInterest(config::kSecretType, names, false);
}

}  // namespace remora::server
