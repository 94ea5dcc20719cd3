#pragma once

// The current translation of the manifests, shared by every proxy stream. A new generation
// replaces it whole (after a debounced reload); each proxy's (namespace, pod) resources
// are computed on first use and kept for the generation, as shared layers (resource_map.h)
// that the translator reuses across generations where nothing changed. The discovery
// service's push pool waits here for changes.
// Also the registry of connected proxies and what each ACKed or NACKed, for /debug/syncz.

#include <chrono>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "source/pilot/translator.h"

namespace remora::pilot {

class SnapshotCache {
 public:
  // A new translation (and the errors of the manifests it came from).
  void update(std::shared_ptr<const Translator> translator, std::vector<ManifestError> errors,
              std::chrono::microseconds translate_time);
  uint64_t generation() const;
  // The resources for proxies of `key` ("namespace/pod"; pod may be empty) at the current
  // generation (set in `generation`); empty layers before the first translation. Any thread.
  std::shared_ptr<const ProxyResources> proxyResources(const std::string& key,
                                                       uint64_t& generation);
  // The service account pod `pod` of namespace `ns` runs as in the current translation (see
  // Translator::podServiceAccount); nullopt when there is no such pod (or no translation).
  std::optional<std::string> podServiceAccount(const std::string& ns, const std::string& pod) const;
  // Waits until the generation passes `seen`, `wake()` is called, or `timeout` passes.
  void wait(uint64_t seen, std::chrono::milliseconds timeout);
  void wake();

  struct TypeStatus {
    std::string sent_version;
    std::string sent_nonce;
    std::string acked_version;
    std::string last_nack;
    uint64_t pushes = 0;
    uint64_t nacks = 0;
  };
  struct Proxy {
    std::string node_id;
    std::string ns;
    std::string mode;  // "sotw" or "delta"
    std::chrono::system_clock::time_point connected_since;
    std::map<std::string, TypeStatus> types;  // by short type name
  };
  // Registry of connected proxies; ids are per stream.
  uint64_t addProxy(const std::string& mode);
  void removeProxy(uint64_t id);
  // Runs `fn` on the proxy's record under the lock.
  template <class Fn>
  void withProxy(uint64_t id, Fn fn) {
    std::lock_guard<std::mutex> guard(lock_);
    auto it = proxies_.find(id);
    if (it != proxies_.end()) fn(it->second);
  }

  std::string syncz() const;
  std::string metrics() const;

 private:
  mutable std::mutex lock_;
  std::mutex translate_lock_;
  std::condition_variable changed_;
  uint64_t generation_ = 0;
  uint64_t wakeups_ = 0;
  std::shared_ptr<const Translator> translator_;
  std::vector<ManifestError> errors_;
  std::chrono::microseconds translate_time_{0};
  std::map<std::string, std::shared_ptr<const ProxyResources>> by_key_;
  uint64_t next_proxy_ = 1;
  std::map<uint64_t, Proxy> proxies_;
  // Totals by short type name, kept after proxies disconnect.
  std::map<std::string, uint64_t> pushes_;
  std::map<std::string, uint64_t> nacks_;

 public:
  void countPush(const std::string& type) {
    std::lock_guard<std::mutex> guard(lock_);
    ++pushes_[type];
  }
  void countNack(const std::string& type) {
    std::lock_guard<std::mutex> guard(lock_);
    ++nacks_[type];
  }
};

}  // namespace remora::pilot
