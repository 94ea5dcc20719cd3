#pragma once

// The Kubernetes and Istio kinds pilot reads from the API server, with where they live in the
// API (group, versions in order of preference, plural resource name).

#include <string>
#include <vector>

namespace remora::pilot::kubernetes {

struct ResourceKind {
  std::string kind;                   // "VirtualService"
  std::string group;                  // "" for the core group
  std::vector<std::string> versions;  // preferred first; the first the server offers is used
  std::string plural;                 // "virtualservices"
};

// Namespace, Service, Pod (v1), EndpointSlice (discovery.k8s.io/v1), VirtualService,
// DestinationRule, ServiceEntry, Sidecar (networking.istio.io v1, else v1beta1),
// PeerAuthentication, AuthorizationPolicy (security.istio.io v1, else v1beta1).
const std::vector<ResourceKind>& meshResourceKinds();

}  // namespace remora::pilot::kubernetes
