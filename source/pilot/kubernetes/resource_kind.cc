#include "source/pilot/kubernetes/resource_kind.h"

namespace remora::pilot::kubernetes {

const std::vector<ResourceKind>& meshResourceKinds() {
  static const std::vector<ResourceKind> kKinds = {
      {"Namespace", "", {"v1"}, "namespaces"},
      {"Service", "", {"v1"}, "services"},
      {"Pod", "", {"v1"}, "pods"},
      {"EndpointSlice", "discovery.k8s.io", {"v1"}, "endpointslices"},
      {"VirtualService", "networking.istio.io", {"v1", "v1beta1"}, "virtualservices"},
      {"DestinationRule", "networking.istio.io", {"v1", "v1beta1"}, "destinationrules"},
      {"ServiceEntry", "networking.istio.io", {"v1", "v1beta1"}, "serviceentries"},
      {"Sidecar", "networking.istio.io", {"v1", "v1beta1"}, "sidecars"},
      {"PeerAuthentication", "security.istio.io", {"v1", "v1beta1"}, "peerauthentications"},
      {"AuthorizationPolicy", "security.istio.io", {"v1", "v1beta1"}, "authorizationpolicies"},
  };
  return kKinds;
}

}  // namespace remora::pilot::kubernetes
