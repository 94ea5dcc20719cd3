// The Kubernetes kinds pilot reads. Their objects carry many fields pilot has no use for (a
// Pod's containers' images, a Service's sessionAffinity...), so maps are open; the fields
// translator.cc reads are checked for type and enum values.

#include "source/pilot/config_schema_types.h"

namespace remora::pilot::schema {
namespace {

// TCP, UDP or SCTP; the API server checks it, and pilot only tells UDP and SCTP apart (left
// out), so any other text is taken as TCP as before.
FieldPtr protocol() { return text(); }

FieldPtr targetRef() { return openObject({{"name", text()}, {"namespace", text()}}); }

FieldPtr kubernetesObject(std::map<std::string, FieldPtr> fields) {
  fields["apiVersion"] = text();
  fields["kind"] = text();
  fields["metadata"] = metadata();
  return openObject(std::move(fields));
}

std::map<std::string, FieldPtr> build() {
  FieldPtr address = openObject({{"ip", text()}, {"hostname", text()}, {"targetRef", targetRef()}});
  return {
      {"Service",
       kubernetesObject(
           {{"spec",
             openObject({{"type", oneOf({"ClusterIP", "NodePort", "LoadBalancer", "ExternalName"})},
                         {"clusterIP", text()},
                         {"externalName", text()},
                         {"selector", labels()},
                         {"ports", listOf(openObject({{"name", text()},
                                                      {"port", integer()},
                                                      {"targetPort", intOrString()},
                                                      {"protocol", protocol()},
                                                      {"appProtocol", text()}}))}})}})},
      {"Endpoints",
       kubernetesObject(
           {{"subsets",
             listOf(openObject({{"addresses", listOf(address)},
                                {"notReadyAddresses", listOf(address)},
                                {"ports", listOf(openObject({{"name", text()},
                                                             {"port", integer()},
                                                             {"protocol", protocol()}}))}}))}})},
      {"EndpointSlice",
       kubernetesObject(
           {{"addressType", oneOf({"IPv4", "IPv6", "FQDN"})},
            {"endpoints",
             listOf(openObject({{"addresses", listOf(text())},
                                {"hostname", text()},
                                {"targetRef", targetRef()},
                                {"conditions", openObject({{"ready", boolean()},
                                                           {"serving", boolean()},
                                                           {"terminating", boolean()}})}}))},
            {"ports", listOf(openObject({{"name", text()},
                                         {"port", integer()},
                                         {"protocol", protocol()},
                                         {"appProtocol", text()}}))}})},
      {"Pod",
       kubernetesObject(
           {{"spec",
             openObject({{"serviceAccountName", text()},
                         {"serviceAccount", text()},
                         {"containers",
                          listOf(openObject(
                              {{"name", text()},
                               {"ports", listOf(openObject({{"name", text()},
                                                            {"containerPort", integer()},
                                                            {"protocol", protocol()}}))}}))}})},
            {"status", openObject({{"podIP", text()}})}})},
      {"Namespace", kubernetesObject({})},
  };
}

}  // namespace

const std::map<std::string, FieldPtr>& kubernetesKinds() {
  static const auto* kinds = new std::map<std::string, FieldPtr>(build());
  return *kinds;
}

}  // namespace remora::pilot::schema
