#pragma once

// The leader's write of the mesh trust bundle: a ConfigMap (istio-ca-root-cert, key
// root-cert.pem, as Istio's) in every namespace it is given, for pods to mount. While leading,
// each namespace's ConfigMap is read and created or updated only when its content differs
// from the bundle; again whenever the bundle or the namespaces change, and after a new
// leadership (another replica or a person may have changed them meanwhile). Failed writes are
// retried every retry period. Nothing is written while not leading.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "source/pilot/kubernetes/https_client.h"

namespace remora::pilot::kubernetes {

struct TrustBundlePublisherOptions {
  std::string config_map_name = "istio-ca-root-cert";
  std::string key = "root-cert.pem";
  std::chrono::milliseconds retry_period{5000};
  std::chrono::milliseconds request_timeout{5000};
  // What happened, one line each (default: stderr).
  std::function<void(const std::string& message)> log;
};

class TrustBundlePublisher {
 public:
  // `client` must outlive the publisher.
  TrustBundlePublisher(HttpsClient& client, TrustBundlePublisherOptions options);
  // stop().
  ~TrustBundlePublisher();

  // Starts the writing thread. Call once.
  void start();
  // Stops it (a request in flight is cancelled within 50 ms). Idempotent.
  void stop();

  // The setters may be called from any thread (the elector's callbacks, the CA's root
  // rotation, the namespace watch) and return at once; the writing thread picks them up.
  // Leadership: LeaderElector's on_started_leading -> setLeading(true), on_stopped_leading ->
  // setLeading(false). A write in progress when leadership ends finishes its current namespace.
  void setLeading(bool leading);
  // The PEM of the mesh's roots (every root that verifies workload certificates).
  void setBundle(std::string pem);
  // Every namespace that gets the ConfigMap (e.g. from the Namespace reflector's snapshot).
  void setNamespaces(std::vector<std::string> namespaces);

 private:
  void run();
  // Makes `ns`'s ConfigMap hold `bundle`; false (logged) when it could not.
  bool publish(const std::string& ns, const std::string& bundle);
  std::string configMapJson(const std::string& ns, const std::string& bundle,
                            const std::string& resource_version) const;
  void log(const std::string& message) const;

  HttpsClient& client_;
  const TrustBundlePublisherOptions options_;
  std::thread thread_;

  std::mutex mutex_;
  std::condition_variable changed_;
  std::atomic<bool> stopping_{false};
  bool leading_ = false;
  bool dirty_ = false;           // something changed since the last pass
  bool new_leadership_ = false;  // forget what was confirmed: check every namespace again
  std::string bundle_;
  std::vector<std::string> namespaces_;

  // Writing thread only: the bundle each namespace's ConfigMap was confirmed to hold.
  std::map<std::string, std::string> confirmed_;
};

}  // namespace remora::pilot::kubernetes
