#pragma once

// The Kubernetes API server as a config source: wraps KubernetesSource (one reflector per
// kind) and hands pilot's main loop the same Objects the folder source would make of the same
// objects written as YAML, so that both go through the same guard and translator.
//
// Each API object becomes an Object with kind and apiVersion set (list items carry neither),
// metadata.namespace ("default" when absent, as in the folder), and `file`
// "kubernetes:<Kind>/<namespace>/<name>" so that errors say where the object came from. JSON
// nulls are left out (the API server's "unset"). EndpointSlices go through as EndpointSlice
// objects; the translator joins them to their Service by the kubernetes.io/service-name label.
// An Object's revision is its metadata.resourceVersion. snapshot() converts nothing: the
// reflectors keep every object as a compact document, and an object that did not change is the
// same document (and a kind that did not change the same Objects) in every snapshot.
//
// Not synced() until every kind has been listed completely once (or found not installed):
// before that a snapshot would be a partial mesh, and pilot neither pushes nor reports ready.

#include <chrono>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "source/common/crypto/result.h"
#include "source/pilot/config_source.h"
#include "source/pilot/kubernetes/kubernetes_source.h"

namespace remora::pilot {

class KubernetesConfigSource : public ConfigSource {
 public:
  // Errors: an unusable CA, client certificate or key ("https://10.0.0.1:443: ...").
  // Nothing is contacted yet: start() does.
  static crypto::Result<std::unique_ptr<KubernetesConfigSource>> create(
      kubernetes::KubernetesSourceOptions options);
  ~KubernetesConfigSource() override;

  // Starts listing and watching every kind (each on a thread of its own).
  void start();

  std::string describe() const override;
  SourceSnapshot snapshot() override;
  bool waitForChange(std::chrono::milliseconds timeout) override;
  bool synced() const override;
  // The kinds not listed completely yet (see KubernetesSource::unsyncedKinds): what synced()
  // still waits for, e.g. to say so when giving up. Any thread.
  std::vector<std::string> unsyncedKinds() const;

  // The names of the Namespaces listed so far (sorted), e.g. where the trust bundle goes.
  std::vector<std::string> namespaceNames() const;

 private:
  KubernetesConfigSource(std::vector<kubernetes::ResourceKind> kinds, std::string url)
      : kinds_(std::move(kinds)), url_(std::move(url)) {}
  void notifyChange();

  const std::vector<kubernetes::ResourceKind> kinds_;
  const std::string url_;
  std::unique_ptr<kubernetes::KubernetesSource> source_;
  std::mutex mutex_;  // guards changed_
  std::condition_variable wake_;
  bool changed_ = false;
  // Each kind's Objects as last handed out, and the snapshot they were made from.
  struct KindObjects {
    kubernetes::Snapshot from;
    std::vector<Object> objects;
  };
  std::mutex objects_mutex_;  // guards objects_
  std::map<std::string, KindObjects> objects_;
};

// One API object as the folder source would have read it from YAML: a kept document
// (kubernetes/reflector.h: kind and apiVersion set, nulls left out) with its kind, namespace,
// name, `file` and revision (metadata.resourceVersion). The document is shared, not copied.
Object objectFromApi(const kubernetes::ResourceKind& kind, CompactDocumentPtr document);
// The same from an object as the API server sends it (`api_version` used when the object has
// none), for tests.
Object objectFromApi(const kubernetes::ResourceKind& kind, const std::string& api_version,
                     const kubernetes::JsonValue& json);

}  // namespace remora::pilot
