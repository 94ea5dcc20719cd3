#pragma once

// Pilot's configuration read from the Kubernetes API server: one Reflector per kind (see
// reflector.h), each on a thread of its own, sharing one TLS client and bearer token. The
// owner learns of every change through two callbacks and can ask for the latest objects of a
// kind at any time.
//
// Lifetime: create(), then start() once; stop() (or the destructor) ends every thread and
// returns after the last callback has returned.

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "source/common/crypto/result.h"
#include "source/pilot/kubernetes/bearer_token.h"
#include "source/pilot/kubernetes/connection_config.h"
#include "source/pilot/kubernetes/https_client.h"
#include "source/pilot/kubernetes/reflector.h"
#include "source/pilot/kubernetes/resource_kind.h"
#include "source/pilot/kubernetes/stop_signal.h"

namespace remora::pilot::kubernetes {

struct KubernetesSourceOptions {
  ClusterConnection connection;
  std::vector<ResourceKind> kinds = meshResourceKinds();
  ReflectorSettings reflector;
  std::chrono::milliseconds token_refresh{60'000};  // how often the token file is re-read
};

class KubernetesSource {
 public:
  // Both called on the source's threads, never two at a time (one mutex serializes them), so
  // they must not block for long nor call stop(); they may call synced() and snapshot(). on_change:
  // a kind's complete set of objects after its first list and after every change. on_synced: once,
  // when every kind has been listed completely (or found not installed); later changes only call
  // on_change.
  struct Callbacks {
    std::function<void(const std::string& kind, Snapshot objects)> on_change;
    std::function<void()> on_synced;
  };

  // Errors: an unusable CA, client certificate or key (see HttpsClient::create).
  static crypto::Result<std::unique_ptr<KubernetesSource>> create(KubernetesSourceOptions options,
                                                                  Callbacks callbacks);
  ~KubernetesSource();

  void start();
  // Idempotent.
  void stop();

  // Every kind has been listed completely once (or found not installed). Stays true after.
  // Any thread.
  bool synced() const { return synced_.load(); }
  // The kinds not yet listed completely once (nor found not installed), in options.kinds'
  // order: what a caller waiting for synced() is still waiting for. Any thread.
  std::vector<std::string> unsyncedKinds() const;

  // The latest objects of `kind` (empty before its first list, or when not installed).
  // Any thread.
  Snapshot snapshot(const std::string& kind) const;

 private:
  KubernetesSource(KubernetesSourceOptions options, Callbacks callbacks);
  void onChange(const std::string& kind, Snapshot objects);
  void onReady(const std::string& kind);

  const KubernetesSourceOptions options_;
  const Callbacks callbacks_;
  BearerToken token_;
  std::unique_ptr<HttpsClient> client_;
  StopSignal stop_;
  std::vector<std::unique_ptr<Reflector>> reflectors_;
  std::vector<std::thread> threads_;

  mutable std::mutex callback_mutex_;  // serializes callbacks; guards ready_kinds_
  std::set<std::string> ready_kinds_;
  mutable std::mutex snapshots_mutex_;  // guards snapshots_ (not held in callbacks)
  std::map<std::string, Snapshot> snapshots_;
  std::atomic<bool> synced_{false};
};

}  // namespace remora::pilot::kubernetes
