// The schema checker, kind by kind: typo'd fields, wrong types and unknown enum values are
// problems naming the field path; real objects of every kind pass.

#include "source/pilot/config_schema.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>

#include "gtest/gtest.h"
#include "source/pilot/document/document_from_yaml.h"

namespace remora::pilot::schema {
namespace {

// "field: message (reason)" per problem, one a line, sorted.
std::string problems(const std::string& yaml) {
  YAML::Node node = YAML::Load(yaml);
  std::vector<std::string> lines;
  for (const auto& p : check(node["kind"].as<std::string>(), YamlView(documentFromYaml(node)))) {
    lines.push_back(p.field + ": " + p.message + " (" + p.reason + ")\n");
  }
  std::sort(lines.begin(), lines.end());
  std::string out;
  for (const auto& line : lines) out += line;
  return out;
}

TEST(ConfigSchemaTest, KnowsTheKindsPilotReads) {
  for (const char* kind :
       {"VirtualService", "DestinationRule", "ServiceEntry", "Sidecar", "PeerAuthentication",
        "AuthorizationPolicy", "Service", "Endpoints", "EndpointSlice", "Pod", "Namespace"}) {
    EXPECT_TRUE(knownKind(kind)) << kind;
  }
  for (const char* kind : {"Gateway", "RequestAuthentication", "EnvoyFilter", "Deployment"}) {
    EXPECT_FALSE(knownKind(kind)) << kind;
  }
}

TEST(ConfigSchemaTest, VirtualService) {
  EXPECT_EQ(problems(R"(
kind: VirtualService
apiVersion: networking.istio.io/v1
metadata: {name: reviews, namespace: default, labels: {a: b}, uid: x, resourceVersion: "7"}
spec:
  hosts: [reviews]
  http:
  - name: v2
    match: [{uri: {prefix: /v2}, headers: {x-user: {exact: jason}}, ignoreUriCase: true}]
    route: [{destination: {host: reviews, subset: v2, port: {number: 9080}}, weight: 100}]
    timeout: 2.3s
    retries: {attempts: 3, perTryTimeout: 1s, retryOn: 5xx}
    fault: {abort: {httpStatus: 503, percentage: {value: 0.5}}}
)"),
            "");
  EXPECT_EQ(problems(R"(
kind: VirtualService
metadata: {name: reviews}
spec:
  hosts: reviews
  http:
  - matchh: [{uri: {prefix: /}}]
    match: [{uri: {prefx: /}, method: {regex: GET}}]
    route: [{destination: {host: reviews}, wieght: 50, weight: half}]
    retries: {attempts: [3]}
    corsPolicy: {}
  tcp: []
)"),
            "spec.hosts: must be a list (wrong_type)\n"
            "spec.http[0].corsPolicy: not supported by remora-pilot (not_supported)\n"
            "spec.http[0].match[0].method.regex: not supported by remora-pilot (not_supported)\n"
            "spec.http[0].match[0].uri.prefx: unknown field (unknown_field)\n"
            "spec.http[0].matchh: unknown field (unknown_field)\n"
            "spec.http[0].retries.attempts: must be a whole number (wrong_type)\n"
            "spec.http[0].route[0].weight: must be a whole number (wrong_type)\n"
            "spec.http[0].route[0].wieght: unknown field (unknown_field)\n"
            "spec.tcp: not supported by remora-pilot (not_supported)\n");
}

TEST(ConfigSchemaTest, DestinationRule) {
  EXPECT_EQ(problems(R"(
kind: DestinationRule
metadata: {name: reviews}
spec:
  host: reviews
  trafficPolicy:
    loadBalancer: {simple: LEAST_REQUEST}
    connectionPool: {tcp: {maxConnections: 10}, http: {http1MaxPendingRequests: 5}}
    outlierDetection: {consecutive5xxErrors: 3, interval: 5s}
    tls: {mode: ISTIO_MUTUAL, sni: x}
  subsets: [{name: v1, labels: {version: v1}}]
)"),
            "");
  EXPECT_EQ(problems(R"(
kind: DestinationRule
metadata: {name: reviews}
spec:
  host: reviews
  subet: [{name: v1}]
  trafficPolicy: {loadBalancer: {simple: FASTEST}, tls: {mode: istio_mutual}}
  subsets: [{name: v1, lables: {version: v1}, labels: [version]}]
)"),
            "spec.subet: unknown field (unknown_field)\n"
            "spec.subsets[0].labels: must be a mapping (wrong_type)\n"
            "spec.subsets[0].lables: unknown field (unknown_field)\n"
            "spec.trafficPolicy.loadBalancer.simple: \"FASTEST\" is not one of UNSPECIFIED, "
            "ROUND_ROBIN, LEAST_REQUEST, LEAST_CONN, RANDOM (bad_enum)\n"
            "spec.trafficPolicy.tls.mode: \"istio_mutual\" is not one of DISABLE, SIMPLE, MUTUAL, "
            "ISTIO_MUTUAL (bad_enum)\n");
}

TEST(ConfigSchemaTest, ServiceEntryAndSidecar) {
  EXPECT_EQ(problems(R"(
kind: ServiceEntry
metadata: {name: api}
spec:
  hosts: [api.example.com]
  ports: [{number: 443, name: tls, protocol: TLS}]
  location: MESH_EXTERNAL
  resolution: DNS
)"),
            "");
  EXPECT_EQ(
      problems(R"(
kind: ServiceEntry
metadata: {name: api}
spec:
  hosts: [api.example.com]
  ports: [{numbr: 443}]
  resolution: dns
  exportTo: ["."]
)"),
      "spec.exportTo: not supported by remora-pilot (not_supported)\n"
      "spec.ports[0].numbr: unknown field (unknown_field)\n"
      "spec.resolution: \"dns\" is not one of NONE, STATIC, DNS, DNS_ROUND_ROBIN (bad_enum)\n");
  EXPECT_EQ(problems(R"(
kind: Sidecar
metadata: {name: default}
spec:
  workloadSelector: {lables: {app: a}}
  outboundTrafficPolicy: {mode: ALLOW_SOME}
  egress: [{hosts: ["./*"]}]
)"),
            "spec.egress: not supported by remora-pilot (not_supported)\n"
            "spec.outboundTrafficPolicy.mode: \"ALLOW_SOME\" is not one of ALLOW_ANY, "
            "REGISTRY_ONLY (bad_enum)\n"
            "spec.workloadSelector.lables: unknown field (unknown_field)\n");
}

TEST(ConfigSchemaTest, SecurityKinds) {
  EXPECT_EQ(problems(R"(
kind: PeerAuthentication
metadata: {name: default}
spec:
  selector: {matchLabels: {app: a}}
  mtls: {mode: STRICT}
  portLevelMtls: {8080: {mode: PERMISSIVE}}
)"),
            "");
  EXPECT_EQ(problems(R"(
kind: PeerAuthentication
metadata: {name: default}
spec:
  selector: {matchLabel: {app: a}}
  mtls: {mode: strict}
  portLevelMtls: {8080: PERMISSIVE}
)"),
            "spec.mtls.mode: \"strict\" is not one of UNSET, DISABLE, PERMISSIVE, STRICT "
            "(bad_enum)\n"
            "spec.portLevelMtls[8080]: must be a mapping (wrong_type)\n"
            "spec.selector.matchLabel: unknown field (unknown_field)\n");
  // The spec is the policy reader's (security/policy_reader.cc); the envelope is checked here.
  EXPECT_EQ(problems("kind: AuthorizationPolicy\nmetadata: {name: a}\nspecc: {}\n"),
            "specc: unknown field (unknown_field)\n");
}

TEST(ConfigSchemaTest, KubernetesKindsAreOpenButTyped) {
  EXPECT_EQ(problems(R"(
kind: Pod
metadata: {name: p, namespace: default, labels: {app: a}, ownerReferences: []}
spec:
  serviceAccountName: reviews
  nodeName: n1
  containers: [{name: app, image: x, ports: [{name: http, containerPort: 8080}]}]
status: {podIP: 10.0.0.1, phase: Running}
)"),
            "");
  EXPECT_EQ(problems(R"(
kind: Pod
metadata: {name: p, labels: [app]}
spec: {containers: [{ports: [{containerPort: eighty}]}]}
)"),
            "metadata.labels: must be a mapping (wrong_type)\n"
            "spec.containers[0].ports[0].containerPort: must be a whole number (wrong_type)\n");
  EXPECT_EQ(problems(R"(
kind: Service
metadata: {name: s}
spec: {type: ClusterIp, ports: [{port: "80", targetPort: http}], sessionAffinity: None}
)"),
            "spec.type: \"ClusterIp\" is not one of ClusterIP, NodePort, LoadBalancer, "
            "ExternalName (bad_enum)\n");
  EXPECT_EQ(problems(R"(
kind: EndpointSlice
metadata: {name: s-1}
addressType: IPv4
endpoints: [{addresses: 10.0.0.1, conditions: {ready: yes}}]
ports: [{port: 80}]
)"),
            "endpoints[0].addresses: must be a list (wrong_type)\n"
            "endpoints[0].conditions.ready: must be true or false (wrong_type)\n");
  EXPECT_EQ(problems(R"(
kind: Endpoints
metadata: {name: s}
subsets: [{addresses: [{ip: [10.0.0.1]}], ports: [{port: x}]}]
)"),
            "subsets[0].addresses[0].ip: must be a string (wrong_type)\n"
            "subsets[0].ports[0].port: must be a whole number (wrong_type)\n");
  EXPECT_EQ(problems("kind: Namespace\nmetadata: {name: n, labels: {istio-injection: enabled}}\n"),
            "");
}

}  // namespace
}  // namespace remora::pilot::schema
