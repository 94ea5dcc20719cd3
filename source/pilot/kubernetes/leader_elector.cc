#include "source/pilot/kubernetes/leader_elector.h"

#include <algorithm>
#include <iostream>

namespace remora::pilot::kubernetes {

using std::chrono::seconds;

LeaderElector::LeaderElector(HttpsClient& client, LeaderElectorOptions options,
                             LeaderElectorCallbacks callbacks)
    : client_(client),
      options_(std::move(options)),
      callbacks_(std::move(callbacks)),
      lease_seconds_(std::max<long long>(1, (options_.lease_duration.count() + 999) / 1000)) {}

LeaderElector::~LeaderElector() { stop(); }

void LeaderElector::start() {
  thread_ = std::thread([this] { run(); });
}

void LeaderElector::stop() {
  stop_.stop();
  if (thread_.joinable()) {
    thread_.join();
  }
}

std::string LeaderElector::collectionPath() const {
  return "/apis/coordination.k8s.io/v1/namespaces/" + options_.lease_namespace + "/leases";
}

std::string LeaderElector::leasePath() const {
  return collectionPath() + "/" + options_.lease_name;
}

void LeaderElector::log(const std::string& message) const {
  std::string line = "leader election " + options_.lease_namespace + "/" + options_.lease_name +
                     " (" + options_.identity + "): " + message;
  if (callbacks_.log) {
    callbacks_.log(line);
  } else {
    std::cerr << line << "\n";
  }
}

void LeaderElector::run() {
  std::string last_error;
  while (!stop_.stopped()) {
    std::string error;
    if (tryAcquireOrRenew(error) == Attempt::kHolding) {
      lead();  // returns having stepped down; a candidate again after a retry period
      last_error.clear();
    } else if (error != last_error) {
      log("not leading: " + error);  // once per distinct reason, not every retry period
      last_error = error;
    }
    if (!stop_.waitFor(options_.retry_period)) {
      break;
    }
  }
}

void LeaderElector::lead() {
  leading_.store(true);
  log("became leader (transitions " + std::to_string(observed_.lease_transitions) + ")");
  if (callbacks_.on_started_leading) {
    callbacks_.on_started_leading();
  }
  auto last_renewal = options_.now();
  std::string reason;
  while (stop_.waitFor(options_.retry_period)) {
    std::string error;
    Attempt attempt = tryAcquireOrRenew(error);
    if (attempt == Attempt::kHolding) {
      last_renewal = options_.now();
      continue;
    }
    if (stop_.stopped()) {
      break;  // the request was cancelled by stop(): release below
    }
    if (attempt == Attempt::kHeldByOther) {
      reason = "lost the lease: " + error;
      break;
    }
    if (options_.now() - last_renewal >= options_.renew_deadline) {
      reason = "could not renew the lease within the renew deadline (" +
               std::to_string(options_.renew_deadline.count()) + " ms): " + error;
      break;
    }
  }
  if (reason.empty()) {
    release();
    reason = "released the lease on stop";
  }
  leading_.store(false);
  log("stopped leading: " + reason);
  if (callbacks_.on_stopped_leading) {
    callbacks_.on_stopped_leading(reason);
  }
}

LeaderElector::Attempt LeaderElector::tryAcquireOrRenew(std::string& error) {
  bool conflict = false;
  Attempt attempt = tryOnce(error, conflict);
  if (conflict && !stop_.stopped()) {
    attempt = tryOnce(error, conflict);
  }
  return attempt;
}

LeaderElector::Attempt LeaderElector::tryOnce(std::string& error, bool& conflict) {
  conflict = false;
  auto now = options_.now();
  std::string body;
  auto got = client_.get(leasePath(), options_.request_timeout, stop_.flag(), body, 1 << 20);
  if (!got.ok()) {
    error = "reading the lease: " + got.error();
    return Attempt::kFailed;
  }
  LeaseRecord desired;
  desired.holder_identity = options_.identity;
  desired.lease_duration_seconds = lease_seconds_;
  desired.renew_time = microTime(now);
  std::string method = "PUT";
  std::string path = leasePath();
  if (got.value() == 404) {
    desired.acquire_time = desired.renew_time;
    method = "POST";
    path = collectionPath();
  } else if (got.value() != 200) {
    error = "reading the lease: HTTP " + std::to_string(got.value());
    return Attempt::kFailed;
  } else {
    auto parsed = JsonValue::parse(body);
    if (!parsed.ok()) {
      error = "reading the lease: " + parsed.error();
      return Attempt::kFailed;
    }
    LeaseRecord current = LeaseRecord::fromJson(parsed.value());
    if (!current.sameHolding(observed_)) {
      observed_ = current;
      observed_time_ = now;
    }
    observed_.resource_version = current.resource_version;
    if (!current.holder_identity.empty() && current.holder_identity != options_.identity &&
        observed_time_ + seconds(current.lease_duration_seconds) > now) {
      error = "the lease is held by " + current.holder_identity;
      return Attempt::kHeldByOther;
    }
    bool renewing = current.holder_identity == options_.identity;
    desired.acquire_time = renewing ? current.acquire_time : desired.renew_time;
    desired.lease_transitions = current.lease_transitions + (renewing ? 0 : 1);
    desired.resource_version = current.resource_version;
  }
  std::string answer;
  auto sent =
      client_.send(method, path, desired.toJson(options_.lease_namespace, options_.lease_name),
                   options_.request_timeout, stop_.flag(), answer, 1 << 20);
  if (!sent.ok()) {
    error = "writing the lease: " + sent.error();
    return Attempt::kFailed;
  }
  if (sent.value() == 409) {
    conflict = true;
    error = "another replica wrote the lease first (409 Conflict)";
    return Attempt::kFailed;
  }
  if (sent.value() != 200 && sent.value() != 201) {
    error = "writing the lease: HTTP " + std::to_string(sent.value());
    return Attempt::kFailed;
  }
  auto written = JsonValue::parse(answer);
  observed_ = written.ok() ? LeaseRecord::fromJson(written.value()) : desired;
  observed_time_ = now;
  return Attempt::kHolding;
}

void LeaderElector::release() {
  // stop() has set the stop flag that cancels requests: these get their own.
  static const std::atomic<bool> kNeverCancelled{false};
  LeaseRecord released = observed_;
  released.holder_identity.clear();
  released.lease_duration_seconds = 1;
  released.acquire_time = released.renew_time = microTime(options_.now());
  std::string answer;
  auto sent = client_.send("PUT", leasePath(),
                           released.toJson(options_.lease_namespace, options_.lease_name),
                           options_.request_timeout, kNeverCancelled, answer, 1 << 20);
  // A renewal cancelled by stop() may have reached the server after all: the resourceVersion
  // observed is then stale (409). Read the lease again and, if it is still ours, release that.
  if (sent.ok() && sent.value() == 409) {
    std::string body;
    auto got = client_.get(leasePath(), options_.request_timeout, kNeverCancelled, body, 1 << 20);
    if (got.ok() && got.value() == 200) {
      auto parsed = JsonValue::parse(body);
      LeaseRecord current = parsed.ok() ? LeaseRecord::fromJson(parsed.value()) : LeaseRecord{};
      if (current.holder_identity != options_.identity) {
        return;  // not ours any more (or unreadable): nothing to release
      }
      released.resource_version = current.resource_version;
      sent = client_.send("PUT", leasePath(),
                          released.toJson(options_.lease_namespace, options_.lease_name),
                          options_.request_timeout, kNeverCancelled, answer, 1 << 20);
    }
  }
  if (!sent.ok() || sent.value() != 200) {
    // Not fatal: the others take over once the lease expires.
    log("releasing the lease failed: " +
        (sent.ok() ? "HTTP " + std::to_string(sent.value()) : sent.error()));
  }
}

}  // namespace remora::pilot::kubernetes
