#include "source/pilot/kubernetes_config_source.h"

#include <algorithm>

#include "source/pilot/kubernetes/document_from_json.h"

namespace remora::pilot {
Object objectFromApi(const kubernetes::ResourceKind& kind, CompactDocumentPtr document) {
  Object object;
  object.kind = kind.kind;
  YamlView metadata = YamlView(document)["metadata"];
  object.name = metadata["name"].str();
  object.ns = metadata["namespace"].str();
  const bool namespaced = metadata["namespace"].isScalar();
  if (object.ns.empty()) {
    object.ns = "default";
  }
  object.revision = metadata["resourceVersion"].str();
  object.file = "kubernetes:" + kind.kind + "/" + (namespaced ? object.ns + "/" : "") + object.name;
  object.document = std::move(document);
  return object;
}

Object objectFromApi(const kubernetes::ResourceKind& kind, const std::string& api_version,
                     const kubernetes::JsonValue& json) {
  return objectFromApi(kind, kubernetes::documentFromApiObject(json, kind.kind, api_version));
}

crypto::Result<std::unique_ptr<KubernetesConfigSource>> KubernetesConfigSource::create(
    kubernetes::KubernetesSourceOptions options) {
  std::unique_ptr<KubernetesConfigSource> source(
      new KubernetesConfigSource(options.kinds, options.connection.url()));
  KubernetesConfigSource* self = source.get();
  auto created = kubernetes::KubernetesSource::create(
      std::move(options),
      {[self](const std::string&, kubernetes::Snapshot) { self->notifyChange(); },
       [self] { self->notifyChange(); }});
  if (!created.ok()) {
    return crypto::Error{created.error()};
  }
  source->source_ = std::move(created).value();
  return source;
}

KubernetesConfigSource::~KubernetesConfigSource() {
  // Its threads call back into this object: they end first.
  if (source_) {
    source_->stop();
  }
}

void KubernetesConfigSource::start() { source_->start(); }

std::string KubernetesConfigSource::describe() const { return "Kubernetes API server " + url_; }

bool KubernetesConfigSource::synced() const { return source_->synced(); }

std::vector<std::string> KubernetesConfigSource::unsyncedKinds() const {
  return source_->unsyncedKinds();
}

std::vector<std::string> KubernetesConfigSource::namespaceNames() const {
  std::vector<std::string> names;
  kubernetes::Snapshot namespaces = source_->snapshot("Namespace");
  for (const auto& [key, document] : *namespaces) {
    names.push_back(YamlView(document)["metadata"]["name"].str());
  }
  std::sort(names.begin(), names.end());
  return names;
}

void KubernetesConfigSource::notifyChange() {
  {
    std::lock_guard lock(mutex_);
    changed_ = true;
  }
  wake_.notify_all();
}

bool KubernetesConfigSource::waitForChange(std::chrono::milliseconds timeout) {
  std::unique_lock lock(mutex_);
  wake_.wait_for(lock, timeout, [this] { return changed_; });
  bool changed = changed_;
  changed_ = false;
  return changed;
}

SourceSnapshot KubernetesConfigSource::snapshot() {
  SourceSnapshot out;
  std::lock_guard lock(objects_mutex_);
  for (const kubernetes::ResourceKind& kind : kinds_) {
    kubernetes::Snapshot objects = source_->snapshot(kind.kind);
    KindObjects& kept = objects_[kind.kind];
    // A kind that did not change since the last call hands out the same Objects again.
    if (kept.from != objects) {
      std::vector<Object> fresh;
      fresh.reserve(objects->size());
      for (const auto& [key, document] : *objects) {
        fresh.push_back(objectFromApi(kind, document));
      }
      kept.objects = std::move(fresh);
      kept.from = objects;
    }
    out.objects.insert(out.objects.end(), kept.objects.begin(), kept.objects.end());
  }
  return out;
}

}  // namespace remora::pilot
