#pragma once

// The part of a coordination.k8s.io/v1 Lease that leader election reads and writes, and its
// JSON both ways. Times are kept as the API's MicroTime text ("2026-12-08T00:10:00.123456Z"):
// electors never compare another replica's timestamps with their own clock (clocks differ),
// only notice whether the record changed.

#include <chrono>
#include <string>

#include "source/pilot/kubernetes/json_value.h"

namespace remora::pilot::kubernetes {

struct LeaseRecord {
  std::string holder_identity;  // "" when released
  long long lease_duration_seconds = 0;
  std::string acquire_time;
  std::string renew_time;
  long long lease_transitions = 0;
  std::string resource_version;  // metadata.resourceVersion, for optimistic concurrency

  // Reads spec and metadata.resourceVersion of a Lease; absent fields stay empty / 0.
  static LeaseRecord fromJson(const JsonValue& lease);
  // The Lease `namespace`/`name` carrying this record (and its resourceVersion when set).
  std::string toJson(const std::string& ns, const std::string& name) const;
  // Whether the holding (everything but the resourceVersion) is the same.
  bool sameHolding(const LeaseRecord& other) const;
};

// `time` as a Kubernetes MicroTime: RFC 3339 in UTC with microseconds.
std::string microTime(std::chrono::system_clock::time_point time);

}  // namespace remora::pilot::kubernetes
