#include "source/pilot/kubernetes_config_source.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>

namespace remora::pilot {
namespace {

using kubernetes::JsonValue;

// The YAML node yaml-cpp would have parsed from the same JSON text: scalars keep their text
// (numbers as written, booleans as true/false), and null members are left out, which is what
// they mean to the API server.
YAML::Node toYaml(const JsonValue& json) {
  switch (json.type()) {
    case JsonValue::Type::kNull:
      return YAML::Node(YAML::NodeType::Null);
    case JsonValue::Type::kBool:
      return YAML::Node(json.asBool() ? "true" : "false");
    case JsonValue::Type::kNumber:
      return YAML::Node(json.serialize());
    case JsonValue::Type::kString:
      return YAML::Node(json.asString());
    case JsonValue::Type::kArray: {
      YAML::Node sequence(YAML::NodeType::Sequence);
      for (const JsonValue& element : json.elements()) {
        sequence.push_back(toYaml(element));
      }
      return sequence;
    }
    case JsonValue::Type::kObject: {
      YAML::Node map(YAML::NodeType::Map);
      for (const auto& [key, value] : json.members()) {
        if (!value.isNull()) {
          map[key] = toYaml(value);
        }
      }
      return map;
    }
  }
  return YAML::Node();
}

}  // namespace

Object objectFromApi(const kubernetes::ResourceKind& kind, const std::string& api_version,
                     const JsonValue& json) {
  Object object;
  object.kind = kind.kind;
  object.name = json.get("metadata").get("name").asString();
  object.ns = json.get("metadata").get("namespace").asString("default");
  if (object.ns.empty()) {
    object.ns = "default";
  }
  object.revision = json.get("metadata").get("resourceVersion").asString();
  object.node = toYaml(json);
  // List items carry neither; watch events' objects do (and then say which version was read).
  object.node["kind"] = kind.kind;
  if (!object.node["apiVersion"] || object.node["apiVersion"].Scalar().empty()) {
    object.node["apiVersion"] = api_version;
  }
  object.file = "kubernetes:" + kind.kind + "/" +
                (json.get("metadata").get("namespace").isString() ? object.ns + "/" : "") +
                object.name;
  return object;
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
  for (const auto& [key, json] : *namespaces) {
    names.push_back(json->get("metadata").get("name").asString());
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
  for (const kubernetes::ResourceKind& kind : kinds_) {
    // Istio's v1 and v1beta1 share one schema; pilot accepts either name.
    const std::string api_version =
        kind.group.empty() ? kind.versions.front() : kind.group + "/" + kind.versions.front();
    kubernetes::Snapshot objects = source_->snapshot(kind.kind);
    for (const auto& [key, json] : *objects) {
      out.objects.push_back(objectFromApi(kind, api_version, *json));
    }
  }
  return out;
}

}  // namespace remora::pilot
