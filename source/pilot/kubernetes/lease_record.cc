#include "source/pilot/kubernetes/lease_record.h"

#include <ctime>

namespace remora::pilot::kubernetes {

LeaseRecord LeaseRecord::fromJson(const JsonValue& lease) {
  const JsonValue& spec = lease.get("spec");
  LeaseRecord record;
  record.holder_identity = spec.get("holderIdentity").asString();
  record.lease_duration_seconds = spec.get("leaseDurationSeconds").asInteger();
  record.acquire_time = spec.get("acquireTime").asString();
  record.renew_time = spec.get("renewTime").asString();
  record.lease_transitions = spec.get("leaseTransitions").asInteger();
  record.resource_version = lease.get("metadata").get("resourceVersion").asString();
  return record;
}

std::string LeaseRecord::toJson(const std::string& ns, const std::string& name) const {
  std::string metadata =
      R"({"name":)" + JsonValue::quote(name) + R"(,"namespace":)" + JsonValue::quote(ns);
  if (!resource_version.empty()) {
    metadata += R"(,"resourceVersion":)" + JsonValue::quote(resource_version);
  }
  metadata += "}";
  std::string spec = R"({"holderIdentity":)" + JsonValue::quote(holder_identity) +
                     R"(,"leaseDurationSeconds":)" + std::to_string(lease_duration_seconds) +
                     R"(,"acquireTime":)" + JsonValue::quote(acquire_time) + R"(,"renewTime":)" +
                     JsonValue::quote(renew_time) + R"(,"leaseTransitions":)" +
                     std::to_string(lease_transitions) + "}";
  return R"({"apiVersion":"coordination.k8s.io/v1","kind":"Lease","metadata":)" + metadata +
         R"(,"spec":)" + spec + "}";
}

bool LeaseRecord::sameHolding(const LeaseRecord& other) const {
  return holder_identity == other.holder_identity &&
         lease_duration_seconds == other.lease_duration_seconds &&
         acquire_time == other.acquire_time && renew_time == other.renew_time &&
         lease_transitions == other.lease_transitions;
}

std::string microTime(std::chrono::system_clock::time_point time) {
  auto micros =
      std::chrono::duration_cast<std::chrono::microseconds>(time.time_since_epoch()).count();
  std::time_t seconds = static_cast<std::time_t>(micros / 1000000);
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  char text[40];
  size_t length = std::strftime(text, sizeof(text), "%Y-%m-%dT%H:%M:%S", &utc);
  std::snprintf(text + length, sizeof(text) - length, ".%06lldZ",
                static_cast<long long>(micros % 1000000));
  return text;
}

}  // namespace remora::pilot::kubernetes
