#pragma once

// The fields pilot supports, per kind, and one table-driven checker of an object against them.
//
// Istio kinds (VirtualService, DestinationRule, ServiceEntry, Sidecar, PeerAuthentication,
// AuthorizationPolicy) are closed: every field under the object is one pilot reads, and an Istio
// field pilot does not implement is an error ("not supported"), never silently ignored.
// Kubernetes kinds (Service, Endpoints, EndpointSlice, Pod, Namespace) carry many fields pilot
// has no use for, so their maps are open; the fields pilot reads are still checked for type and
// enum values. Null values count as absent. Every problem names its field path
// ("spec.http[0].match[0].uri.exact").

#include "source/pilot/yaml_view.h"

#include <string>
#include <vector>

namespace remora::pilot::schema {

struct Problem {
  std::string field;    // "spec.http[0].matchh"
  std::string message;  // "unknown field"
  // For the metric: unknown_field, wrong_type, bad_enum or not_supported.
  std::string reason;
};

// Whether pilot has a schema for (and reads) objects of `kind`.
bool knownKind(const std::string& kind);
// Whether `kind` is one of the Istio kinds pilot implements.
bool istioKind(const std::string& kind);

// Every problem of `object` (a whole manifest document) against its kind's schema; empty when
// it conforms or when the kind is unknown.
std::vector<Problem> check(const std::string& kind, const YamlView& object);

}  // namespace remora::pilot::schema
