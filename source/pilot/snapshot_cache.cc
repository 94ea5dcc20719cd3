#include "source/pilot/snapshot_cache.h"

#include <ctime>

#include "source/common/common/json_string.h"

namespace remora::pilot {
namespace {

std::string timestamp(std::chrono::system_clock::time_point when) {
  std::time_t t = std::chrono::system_clock::to_time_t(when);
  char buffer[32];
  std::strftime(buffer, sizeof(buffer), "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&t));
  return buffer;
}

}  // namespace

void SnapshotCache::update(std::shared_ptr<const Translator> translator,
                           std::vector<ManifestError> errors,
                           std::chrono::microseconds translate_time) {
  {
    std::lock_guard<std::mutex> guard(lock_);
    translator_ = std::move(translator);
    errors_ = std::move(errors);
    translate_time_ = translate_time;
    by_key_.clear();
    ++generation_;
  }
  changed_.notify_all();
}

uint64_t SnapshotCache::generation() const {
  std::lock_guard<std::mutex> guard(lock_);
  return generation_;
}

std::shared_ptr<const ProxyResources> SnapshotCache::proxyResources(const std::string& key,
                                                                    uint64_t& generation) {
  std::shared_ptr<const Translator> translator;
  {
    std::lock_guard<std::mutex> guard(lock_);
    generation = generation_;
    auto it = by_key_.find(key);
    if (it != by_key_.end()) return it->second;
    translator = translator_;
  }
  size_t slash = key.find('/');
  std::string ns = key.substr(0, slash);
  std::string pod = slash == std::string::npos ? "" : key.substr(slash + 1);
  std::shared_ptr<const ProxyResources> resources;
  {
    // One translation at a time: yaml-cpp nodes are not safe to read from two threads (a
    // copy of a node merges memory holders), and every stream thread reads the same ones.
    std::lock_guard<std::mutex> translating(translate_lock_);
    {
      // Another stream of the same key may have translated it while this one waited.
      std::lock_guard<std::mutex> guard(lock_);
      auto it = by_key_.find(key);
      if (it != by_key_.end() && generation == generation_) return it->second;
    }
    resources =
        translator ? translator->proxyResources(ns, pod) : std::make_shared<const ProxyResources>();
  }
  std::lock_guard<std::mutex> guard(lock_);
  // Kept only if no newer generation arrived meanwhile.
  if (generation == generation_) by_key_[key] = resources;
  return resources;
}

std::optional<std::string> SnapshotCache::podServiceAccount(const std::string& ns,
                                                            const std::string& pod) const {
  std::shared_ptr<const Translator> translator;
  {
    std::lock_guard<std::mutex> guard(lock_);
    translator = translator_;
  }
  // The pod index is plain maps built once per translation: safe to read from any thread
  // (unlike the yaml-cpp nodes translate() reads).
  return translator ? translator->podServiceAccount(ns, pod) : std::nullopt;
}

void SnapshotCache::wait(uint64_t seen, std::chrono::milliseconds timeout) {
  std::unique_lock<std::mutex> guard(lock_);
  uint64_t wakeups = wakeups_;
  changed_.wait_for(guard, timeout, [&] { return generation_ != seen || wakeups_ != wakeups; });
}

void SnapshotCache::wake() {
  {
    std::lock_guard<std::mutex> guard(lock_);
    ++wakeups_;
  }
  changed_.notify_all();
}

uint64_t SnapshotCache::addProxy(const std::string& mode) {
  std::lock_guard<std::mutex> guard(lock_);
  uint64_t id = next_proxy_++;
  proxies_[id].mode = mode;
  proxies_[id].connected_since = std::chrono::system_clock::now();
  return id;
}

void SnapshotCache::removeProxy(uint64_t id) {
  std::lock_guard<std::mutex> guard(lock_);
  proxies_.erase(id);
}

std::string SnapshotCache::syncz() const {
  std::lock_guard<std::mutex> guard(lock_);
  std::string out = "{\"generation\":" + std::to_string(generation_) + ",\"manifest_errors\":[";
  for (size_t i = 0; i < errors_.size(); ++i)
    out += (i ? "," : "") + json::quote(errors_[i].message);
  if (translator_) {
    for (size_t i = 0; i < translator_->errors().size(); ++i) {
      out += (errors_.empty() && i == 0 ? "" : ",") + json::quote(translator_->errors()[i].message);
    }
  }
  out += "],\"proxies\":[";
  bool first = true;
  for (const auto& [id, proxy] : proxies_) {
    out += std::string(first ? "" : ",") + "{\"node_id\":" + json::quote(proxy.node_id) +
           ",\"namespace\":" + json::quote(proxy.ns) + ",\"mode\":" + json::quote(proxy.mode) +
           ",\"connected_since\":" + json::quote(timestamp(proxy.connected_since)) + ",\"types\":{";
    bool first_type = true;
    for (const auto& [type, status] : proxy.types) {
      out += std::string(first_type ? "" : ",") + json::quote(type) +
             ":{\"sent_version\":" + json::quote(status.sent_version) +
             ",\"sent_nonce\":" + json::quote(status.sent_nonce) +
             ",\"acked_version\":" + json::quote(status.acked_version) +
             ",\"last_nack\":" + json::quote(status.last_nack) +
             ",\"pushes\":" + std::to_string(status.pushes) +
             ",\"nacks\":" + std::to_string(status.nacks) + "}";
      first_type = false;
    }
    out += "}}";
    first = false;
  }
  return out + "]}\n";
}

std::string SnapshotCache::metrics() const {
  std::lock_guard<std::mutex> guard(lock_);
  std::string out;
  out += "# HELP pilot_xds_connected_proxies Proxies with an open discovery stream.\n";
  out += "# TYPE pilot_xds_connected_proxies gauge\n";
  out += "pilot_xds_connected_proxies " + std::to_string(proxies_.size()) + "\n";
  out += "# HELP pilot_xds_pushes_total Responses sent to proxies, by resource type.\n";
  out += "# TYPE pilot_xds_pushes_total counter\n";
  for (const auto& [type, n] : pushes_) {
    out += "pilot_xds_pushes_total{type=\"" + type + "\"} " + std::to_string(n) + "\n";
  }
  out += "# HELP pilot_xds_nacks_total Responses proxies rejected, by resource type.\n";
  out += "# TYPE pilot_xds_nacks_total counter\n";
  for (const auto& [type, n] : nacks_) {
    out += "pilot_xds_nacks_total{type=\"" + type + "\"} " + std::to_string(n) + "\n";
  }
  size_t errors = errors_.size() + (translator_ ? translator_->errors().size() : 0);
  out += "# HELP pilot_manifest_errors Manifests or objects left out of the last translation.\n";
  out += "# TYPE pilot_manifest_errors gauge\n";
  out += "pilot_manifest_errors " + std::to_string(errors) + "\n";
  out += "# HELP pilot_config_generations_total Translations of the manifests so far.\n";
  out += "# TYPE pilot_config_generations_total counter\n";
  out += "pilot_config_generations_total " + std::to_string(generation_) + "\n";
  out += "# HELP pilot_translation_seconds Time the last translation took (index and check).\n";
  out += "# TYPE pilot_translation_seconds gauge\n";
  out += "pilot_translation_seconds " +
         std::to_string(static_cast<double>(translate_time_.count()) / 1e6) + "\n";
  return out;
}

}  // namespace remora::pilot
