#pragma once

// Leader election among pilot replicas on a coordination.k8s.io/v1 Lease, with client-go's
// leaderelection semantics:
//   - a candidate takes the lease when it is absent, released (no holder), or held by a replica
//     whose record has not changed for the record's leaseDurationSeconds as measured on this
//     replica's clock since it first saw that record (no comparison of other clocks'
//     timestamps); a takeover increments leaseTransitions and sets acquireTime;
//   - writes carry the resourceVersion read (optimistic concurrency): a 409 Conflict means
//     another replica wrote first, and the lease is read again;
//   - the leader renews every retry period; one that cannot renew within the renew deadline
//     (shorter than the lease) steps down and says why, so it has stopped before any other
//     replica can take over;
//   - on stop() the leader releases the lease (holderIdentity "", leaseDurationSeconds 1, as
//     client-go's ReleaseOnCancel), so another replica takes over at its next retry.
// A replica that stepped down becomes a candidate again.

#include <atomic>
#include <chrono>
#include <functional>
#include <string>
#include <thread>

#include "source/pilot/kubernetes/https_client.h"
#include "source/pilot/kubernetes/lease_record.h"
#include "source/pilot/kubernetes/stop_signal.h"

namespace remora::pilot::kubernetes {

struct LeaderElectorOptions {
  std::string lease_namespace = "remora-system";
  std::string lease_name = "remora-pilot-leader";
  std::string identity;  // this replica's name (the pod name); must be unique and not empty
  // Written as whole seconds (rounded up, at least 1): the API's leaseDurationSeconds.
  std::chrono::milliseconds lease_duration{30000};
  std::chrono::milliseconds renew_deadline{15000};
  std::chrono::milliseconds retry_period{7500};
  // Each API request's deadline.
  std::chrono::milliseconds request_timeout{5000};
  // The clock for observed times and the renew deadline (tests may shift it).
  std::function<std::chrono::system_clock::time_point()> now = std::chrono::system_clock::now;
};

struct LeaderElectorCallbacks {
  // This replica now holds the lease: start the leader-only work.
  std::function<void()> on_started_leading;
  // This replica no longer holds the lease (`reason`: stepped down, lost it, or released on
  // stop): stop the leader-only work at once.
  std::function<void(const std::string& reason)> on_stopped_leading;
  // What happened, one line each (default: stderr).
  std::function<void(const std::string& message)> log;
};

class LeaderElector {
 public:
  // `client` must outlive the elector.
  LeaderElector(HttpsClient& client, LeaderElectorOptions options,
                LeaderElectorCallbacks callbacks);
  // stop().
  ~LeaderElector();

  // Starts the election thread; every callback is called on it, one at a time, and
  // on_stopped_leading always follows an on_started_leading. Call once.
  void start();
  // Stops the thread (an API request in flight is cancelled within 50 ms); a leader releases
  // the lease first (one request, bounded by request_timeout) and calls on_stopped_leading
  // before stop() returns. Idempotent; call from any thread but a callback.
  void stop();
  // Whether this replica holds the lease now. Any thread.
  bool isLeader() const { return leading_.load(); }

 private:
  enum class Attempt { kHolding, kHeldByOther, kFailed };
  void run();
  void lead();
  // One try to take or renew the lease; a 409 reads it again (once). `error` says why not.
  Attempt tryAcquireOrRenew(std::string& error);
  Attempt tryOnce(std::string& error, bool& conflict);
  void release();
  void log(const std::string& message) const;
  std::string leasePath() const;
  std::string collectionPath() const;

  HttpsClient& client_;
  const LeaderElectorOptions options_;
  const LeaderElectorCallbacks callbacks_;
  const long long lease_seconds_;
  StopSignal stop_;
  std::thread thread_;
  std::atomic<bool> leading_{false};
  // The record last read or written, and when (on this replica's clock) it last changed.
  LeaseRecord observed_;
  std::chrono::system_clock::time_point observed_time_;
};

}  // namespace remora::pilot::kubernetes
