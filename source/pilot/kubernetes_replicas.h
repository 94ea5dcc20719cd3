#pragma once

// What makes several remora-pilot replicas in the --kubernetes / --kubeconfig mode one control
// plane: every replica signs certificates, checking callers' tokens with the API server's
// TokenReview; one leader, elected with a coordination.k8s.io/v1 Lease, writes the mesh's
// trust bundle as the istio-ca-root-cert ConfigMap of every namespace. Built on one HTTPS
// client with pilot's own API credentials (the config source's connection).
//
// Leadership is visible: a log line on every change, the pilot_leader metric and the
// /debug/leader page (monitoring port).
//
// Threads: create/start/stop, setBundle and setNamespaces on pilot's main thread; metrics()
// and leaderPage() from the monitoring thread; the elector's callbacks on its own thread.

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "source/common/crypto/result.h"
#include "source/pilot/ca/service_account_authenticator.h"
#include "source/pilot/kubernetes/bearer_token.h"
#include "source/pilot/kubernetes/connection_config.h"
#include "source/pilot/kubernetes/https_client.h"
#include "source/pilot/kubernetes/leader_elector.h"
#include "source/pilot/kubernetes/token_reviewer.h"
#include "source/pilot/kubernetes/trust_bundle_publisher.h"

namespace remora::pilot {

struct ReplicaOptions {
  std::string lease_namespace;  // empty: the pod's namespace, else remora-system
  std::string lease_name = "remora-pilot-leader";
  std::string identity;  // empty: $POD_NAME, else the hostname
  // Testing aids (hidden flags): the Lease timing, 30s / 15s / 7.5s otherwise.
  std::chrono::milliseconds lease_duration{30000};
  std::chrono::milliseconds renew_deadline{15000};
  std::chrono::milliseconds retry_period{7500};
};

// Whether `flag` is one of the leader election's (--leader-election-namespace, -name,
// -identity; the hidden -lease-duration, -renew-deadline, -retry-period); if so stores `value`
// or sets `error` naming the flag.
bool parseReplicaFlag(const std::string& flag, const std::string& value, ReplicaOptions& options,
                      std::string& error);

// The usage text of those flags (the hidden ones left out), in main.cc's format.
extern const char kReplicaUsage[];

class KubernetesReplicas {
 public:
  // `connection`: pilot's API server and credentials; `token_audience`: the audience the CA
  // requires of callers' tokens. Errors: an unusable CA, client certificate or key, or no
  // identity. Nothing is contacted before start().
  static crypto::Result<std::unique_ptr<KubernetesReplicas>> create(
      const kubernetes::ClusterConnection& connection, ReplicaOptions options,
      const std::string& token_audience);
  // stop().
  ~KubernetesReplicas();

  // The CA's authenticator (CaOptions::token_authenticator): TokenReview with a cache.
  std::shared_ptr<const ca::ServiceAccountAuthenticator> authenticator() const {
    return authenticator_;
  }

  // Starts the election and the bundle writer. Call once.
  void start();
  // Releases the lease when leading (another replica takes over at its next retry) and stops
  // both threads. Idempotent.
  void stop();

  // The PEM of the mesh's roots; only a changed bundle is handed on.
  void setBundle(const std::string& pem);
  // The namespaces that get the ConfigMap; only a changed list is handed on.
  void setNamespaces(std::vector<std::string> namespaces);

  bool isLeader() const { return elector_->isLeader(); }
  // pilot_leader{lease="NS/NAME",identity="ID"} 1|0, Prometheus text.
  std::string metrics() const;
  // GET /debug/leader: JSON with the lease, this replica's identity, whether it leads, and
  // the last change.
  std::string leaderPage() const;

 private:
  KubernetesReplicas() = default;
  void onLeadershipChange(bool leading, const std::string& reason);

  kubernetes::LeaderElectorOptions election_;
  std::unique_ptr<kubernetes::BearerToken> token_;
  std::unique_ptr<kubernetes::HttpsClient> client_;
  std::unique_ptr<kubernetes::TokenReviewer> reviewer_;
  std::shared_ptr<const ca::ServiceAccountAuthenticator> authenticator_;
  std::unique_ptr<kubernetes::TrustBundlePublisher> publisher_;
  std::unique_ptr<kubernetes::LeaderElector> elector_;
  bool started_ = false;
  std::string bundle_;
  std::vector<std::string> namespaces_;

  mutable std::mutex mutex_;  // guards the fields below (written on the elector's thread)
  std::string last_change_;   // "became leader" / "stopped leading: <reason>"
  std::string last_change_time_;
  long long transitions_ = 0;  // leadership changes seen by this replica
};

}  // namespace remora::pilot
