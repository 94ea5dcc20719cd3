#include "source/pilot/kubernetes/kubernetes_source.h"

#include <pthread.h>

#include <csignal>

namespace remora::pilot::kubernetes {

crypto::Result<std::unique_ptr<KubernetesSource>> KubernetesSource::create(
    KubernetesSourceOptions options, Callbacks callbacks) {
  std::unique_ptr<KubernetesSource> source(
      new KubernetesSource(std::move(options), std::move(callbacks)));
  auto client = HttpsClient::create(source->options_.connection, &source->token_);
  if (!client.ok()) {
    return crypto::Error{source->options_.connection.url() + ": " + client.error()};
  }
  source->client_ = std::move(client).value();
  return source;
}

KubernetesSource::KubernetesSource(KubernetesSourceOptions options, Callbacks callbacks)
    : options_(std::move(options)),
      callbacks_(std::move(callbacks)),
      token_(options_.connection.token_file, options_.connection.token, options_.token_refresh) {}

KubernetesSource::~KubernetesSource() { stop(); }

void KubernetesSource::start() {
  Reflector::Callbacks callbacks{
      [this](const std::string& kind, Snapshot objects) { onChange(kind, std::move(objects)); },
      [this](const std::string& kind, bool) { onReady(kind); }};
  for (const ResourceKind& kind : options_.kinds) {
    reflectors_.push_back(
        std::make_unique<Reflector>(kind, *client_, options_.reflector, stop_, callbacks));
  }
  for (auto& reflector : reflectors_) {
    threads_.emplace_back([r = reflector.get()] {
      // Writing to a connection the server closed raises SIGPIPE, whose default action ends
      // the process; these threads get EPIPE instead, whatever the process does with it.
      sigset_t pipe;
      sigemptyset(&pipe);
      sigaddset(&pipe, SIGPIPE);
      pthread_sigmask(SIG_BLOCK, &pipe, nullptr);
      r->run();
    });
  }
}

void KubernetesSource::stop() {
  stop_.stop();
  for (std::thread& thread : threads_) {
    if (thread.joinable()) {
      thread.join();
    }
  }
}

Snapshot KubernetesSource::snapshot(const std::string& kind) const {
  std::lock_guard lock(snapshots_mutex_);
  auto found = snapshots_.find(kind);
  return found != snapshots_.end() ? found->second : std::make_shared<const ObjectMap>();
}

void KubernetesSource::onChange(const std::string& kind, Snapshot objects) {
  std::lock_guard lock(callback_mutex_);
  {
    std::lock_guard snapshots_lock(snapshots_mutex_);
    snapshots_[kind] = objects;
  }
  if (callbacks_.on_change) {
    callbacks_.on_change(kind, std::move(objects));
  }
}

std::vector<std::string> KubernetesSource::unsyncedKinds() const {
  std::lock_guard lock(callback_mutex_);
  std::vector<std::string> out;
  for (const ResourceKind& kind : options_.kinds) {
    if (!ready_kinds_.count(kind.kind)) {
      out.push_back(kind.kind);
    }
  }
  return out;
}

void KubernetesSource::onReady(const std::string& kind) {
  std::lock_guard lock(callback_mutex_);
  // Each reflector reports ready once; a set keeps the count right whatever.
  if (ready_kinds_.insert(kind).second && ready_kinds_.size() == options_.kinds.size()) {
    synced_.store(true);
    if (callbacks_.on_synced) {
      callbacks_.on_synced();
    }
  }
}

}  // namespace remora::pilot::kubernetes
