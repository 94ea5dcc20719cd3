// AuthorizationPolicy translation: which policies a workload gets, how each field maps to the
// proxy's Rbac, and every error. The proxy's engine evaluating the result is tested in
// authorization_policy_engine_test.cc.

#include "source/pilot/security/authorization_policy.h"

#include <google/protobuf/text_format.h>

#include <algorithm>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "test/pilot/security/policy_test_util.h"

namespace remora::pilot {
namespace {

using Labels = std::map<std::string, std::string>;

AuthorizationPolicies load(const std::string& yaml, const std::string& root = "istio-system",
                           const std::string& trust_domain = "cluster.local") {
  std::vector<ManifestError> load_errors;
  auto objects = testing::objectsFromText(yaml, load_errors);
  EXPECT_TRUE(load_errors.empty()) << load_errors.front().message;
  return AuthorizationPolicies(objects, root, trust_domain);
}

std::vector<std::string> names(const config::rbac::v1::Rbac& rbac) {
  std::vector<std::string> out;
  for (const auto& policy : rbac.policies()) out.push_back(policy.name());
  return out;
}

std::vector<std::string> messages(const AuthorizationPolicies& policies) {
  std::vector<std::string> out;
  for (const auto& error : policies.errors()) out.push_back(error.message);
  return out;
}

// One AuthorizationPolicy default/p with this spec (YAML, indented under `spec:`).
std::string withSpec(const std::string& spec) {
  return "apiVersion: security.istio.io/v1\n"
         "kind: AuthorizationPolicy\n"
         "metadata: {name: p, namespace: default}\n"
         "spec:\n" +
         spec;
}

// The single policy default/p translates to, in protobuf text format (one line), as a pod in
// default with `labels` gets it.
std::string translated(const std::string& spec, const Labels& labels = {}) {
  AuthorizationPolicies policies = load(withSpec(spec));
  EXPECT_TRUE(policies.errors().empty()) << policies.errors().front().message;
  auto rbac = policies.forWorkload("default", labels);
  if (rbac.policies_size() != 1) return "<" + std::to_string(rbac.policies_size()) + " policies>";
  std::string text;
  google::protobuf::TextFormat::Printer printer;
  printer.SetSingleLineMode(true);
  printer.PrintToString(rbac.policies(0), &text);
  if (!text.empty() && text.back() == ' ') text.pop_back();
  return text;
}

// The errors of default/p with this spec, which must be left out.
std::vector<std::string> errorsOf(const std::string& spec) {
  AuthorizationPolicies policies = load(withSpec(spec));
  EXPECT_EQ(policies.forWorkload("default", {}).policies_size(), 0) << "invalid, but kept";
  return messages(policies);
}

std::string error(const std::string& field, const std::string& reason) {
  return "authz.yaml: AuthorizationPolicy default/p: " + field + ": " + reason;
}

using Errors = std::vector<std::string>;

// ---- the loader ----

TEST(AuthorizationPolicyTest, PilotLoaderKeepsAuthorizationPolicies) {
  if (!testing::loaderKeepsAuthorizationPolicies()) {
    GTEST_SKIP() << "source/pilot/manifests.cc does not list AuthorizationPolicy among the "
                    "kinds it keeps: pilot would never see these objects (wiring step)";
  }
  std::vector<Object> objects;
  std::vector<ManifestError> errors;
  parseManifestText("a.yaml", withSpec("  action: DENY\n  rules: [{}]\n"), objects, errors);
  ASSERT_EQ(objects.size(), 1u);
  EXPECT_EQ(AuthorizationPolicies(objects).forWorkload("default", {}).policies_size(), 1);
}

// ---- which policies apply ----

constexpr const char* kSelection = R"(
apiVersion: security.istio.io/v1beta1
kind: AuthorizationPolicy
metadata: {name: mesh-deny, namespace: istio-system}
spec: {action: DENY, rules: [{from: [{source: {notNamespaces: [default, istio-system]}}]}]}
---
apiVersion: security.istio.io/v1beta1
kind: AuthorizationPolicy
metadata: {name: gateways-only, namespace: istio-system}
spec: {selector: {matchLabels: {app: gateway}}, rules: [{}]}
---
apiVersion: security.istio.io/v1beta1
kind: AuthorizationPolicy
metadata: {name: ns-wide, namespace: default}
spec: {rules: [{}]}
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: reviews-v1, namespace: default}
spec: {selector: {matchLabels: {app: reviews, version: v1}}, rules: [{}]}
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: a-reviews, namespace: default}
spec: {selector: {matchLabels: {app: reviews}}, rules: [{}]}
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: ratings, namespace: default}
spec: {selector: {matchLabels: {app: ratings}}, rules: [{}]}
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: reviews-elsewhere, namespace: other}
spec: {selector: {matchLabels: {app: reviews}}, rules: [{}]}
)";

TEST(AuthorizationPolicyTest, MeshWideThenNamespaceThenSelectedByName) {
  AuthorizationPolicies policies = load(kSelection);
  EXPECT_TRUE(policies.errors().empty());
  EXPECT_EQ(names(policies.forWorkload("default", {{"app", "reviews"}, {"version", "v1"}})),
            (Errors{"istio-system/mesh-deny", "default/a-reviews", "default/ns-wide",
                    "default/reviews-v1"}));
}

TEST(AuthorizationPolicyTest, SelectorNeedsAllItsLabels) {
  AuthorizationPolicies policies = load(kSelection);
  // version v2: reviews-v1 does not apply; ratings never does.
  EXPECT_EQ(names(policies.forWorkload("default", {{"app", "reviews"}, {"version", "v2"}})),
            (Errors{"istio-system/mesh-deny", "default/a-reviews", "default/ns-wide"}));
  EXPECT_EQ(names(policies.forWorkload("default", {})),
            (Errors{"istio-system/mesh-deny", "default/ns-wide"}));
}

TEST(AuthorizationPolicyTest, OtherNamespacesPoliciesDoNotApply) {
  AuthorizationPolicies policies = load(kSelection);
  EXPECT_EQ(names(policies.forWorkload("data", {{"app", "reviews"}})),
            (Errors{"istio-system/mesh-deny"}));
  EXPECT_EQ(names(policies.forWorkload("other", {{"app", "reviews"}})),
            (Errors{"istio-system/mesh-deny", "other/reviews-elsewhere"}));
}

TEST(AuthorizationPolicyTest, RootNamespaceSelectorSelectsInEveryNamespace) {
  // As in Istio: the root namespace's policies are looked at for every workload, with their
  // selector.
  AuthorizationPolicies policies = load(kSelection);
  EXPECT_EQ(names(policies.forWorkload("edge", {{"app", "gateway"}})),
            (Errors{"istio-system/gateways-only", "istio-system/mesh-deny"}));
  EXPECT_EQ(names(policies.forWorkload("istio-system", {{"app", "gateway"}})),
            (Errors{"istio-system/gateways-only", "istio-system/mesh-deny"}));
}

TEST(AuthorizationPolicyTest, RootNamespaceIsAParameter) {
  AuthorizationPolicies policies = load(kSelection, "default");
  // Now default's policies are mesh-wide and istio-system is an ordinary namespace.
  EXPECT_EQ(names(policies.forWorkload("data", {})), (Errors{"default/ns-wide"}));
  EXPECT_EQ(names(policies.forWorkload("istio-system", {})),
            (Errors{"default/ns-wide", "istio-system/mesh-deny"}));
}

TEST(AuthorizationPolicyTest, EmptySelectorIsTheWholeNamespace) {
  AuthorizationPolicies policies =
      load(withSpec("  selector: {matchLabels: {}}\n  rules: [{}]\n") + "\n---\n" +
           "kind: AuthorizationPolicy\n"
           "metadata: {name: q, namespace: default}\n"
           "spec: {selector: {}, rules: [{}]}\n");
  EXPECT_EQ(names(policies.forWorkload("default", {{"app", "x"}})),
            (Errors{"default/p", "default/q"}));
}

TEST(AuthorizationPolicyTest, NoPolicyMeansAnEmptyRbac) {
  AuthorizationPolicies policies = load("kind: Service\nmetadata: {name: s}\n");
  EXPECT_EQ(policies.forWorkload("default", {{"app", "reviews"}}).policies_size(), 0);
}

TEST(AuthorizationPolicyTest, OrderDoesNotDependOnTheFiles) {
  std::vector<std::string> documents;
  std::string text = kSelection;
  size_t start = 0;
  for (size_t at = text.find("---"); at != std::string::npos; at = text.find("---", start)) {
    documents.push_back(text.substr(start, at - start));
    start = at + 4;
  }
  documents.push_back(text.substr(start));
  std::reverse(documents.begin(), documents.end());
  std::string reversed;
  for (const auto& doc : documents) reversed += doc + "\n---\n";
  Labels labels = {{"app", "reviews"}, {"version", "v1"}};
  EXPECT_EQ(load(reversed).forWorkload("default", labels).SerializeAsString(),
            load(kSelection).forWorkload("default", labels).SerializeAsString());
}

TEST(AuthorizationPolicyTest, OtherKindsAndOtherApiGroupsAreIgnored) {
  AuthorizationPolicies policies = load(R"(
apiVersion: policy.linkerd.io/v1alpha1
kind: AuthorizationPolicy
metadata: {name: linkerd, namespace: default}
spec: {targetRef: {kind: Server, name: web}, requiredAuthenticationRefs: []}
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: vs, namespace: default}
spec: {hosts: [reviews]}
---
kind: AuthorizationPolicy
metadata: {name: no-api-version, namespace: default}
spec: {}
)");
  EXPECT_TRUE(policies.errors().empty()) << messages(policies).front();
  EXPECT_EQ(names(policies.forWorkload("default", {})), (Errors{"default/no-api-version"}));
}

// ---- actions and the allow-nothing / allow-all forms ----

TEST(AuthorizationPolicyTest, Actions) {
  EXPECT_EQ(translated("  rules: [{}]\n"), R"(name: "default/p" rules { })");
  EXPECT_EQ(translated("  action: ALLOW\n  rules: [{}]\n"), R"(name: "default/p" rules { })");
  EXPECT_EQ(translated("  action: DENY\n  rules: [{}]\n"),
            R"(name: "default/p" action: DENY rules { })");
  EXPECT_EQ(translated("  action: AUDIT\n  rules: [{}]\n"),
            R"(name: "default/p" action: AUDIT rules { })");
}

TEST(AuthorizationPolicyTest, EmptySpecIsAllowNothing) {
  // ALLOW without rules: the workload has an ALLOW policy that matches nothing, so everything
  // is denied (Istio's allow-nothing).
  EXPECT_EQ(translated("  {}\n"), R"(name: "default/p")");
  EXPECT_EQ(translated("  selector: {matchLabels: {app: reviews}}\n", {{"app", "reviews"}}),
            R"(name: "default/p")");
  EXPECT_EQ(translated("  rules: []\n"), R"(name: "default/p")");
  AuthorizationPolicies no_spec = load("kind: AuthorizationPolicy\nmetadata: {name: p}\n");
  ASSERT_EQ(no_spec.forWorkload("default", {}).policies_size(), 1);
  EXPECT_EQ(no_spec.forWorkload("default", {}).policies(0).rules_size(), 0);
}

TEST(AuthorizationPolicyTest, EmptyRuleIsAllowAll) {
  EXPECT_EQ(translated("  rules:\n  - {}\n"), R"(name: "default/p" rules { })");
}

TEST(AuthorizationPolicyTest, AuditWithoutRulesMatchesNothing) {
  EXPECT_EQ(translated("  action: AUDIT\n"), R"(name: "default/p" action: AUDIT)");
}

TEST(AuthorizationPolicyTest, DenyWithoutRulesIsRefusedAsIstioDoes) {
  // It would never match; Istio rejects it because it is usually meant as "deny all".
  std::string reason =
      "a DENY policy without rules never matches (write `rules: [{}]` to deny everything)";
  EXPECT_EQ(errorsOf("  action: DENY\n"), (Errors{error("spec.rules", reason)}));
  EXPECT_EQ(errorsOf("  action: DENY\n  rules: []\n"), (Errors{error("spec.rules", reason)}));
}

// ---- fields ----

TEST(AuthorizationPolicyTest, SourceFields) {
  EXPECT_EQ(translated(R"(
  rules:
  - from:
    - source:
        principals: [cluster.local/ns/default/sa/productpage, "*/sa/ratings"]
        notPrincipals: [cluster.local/ns/default/sa/evil]
        requestPrincipals: [issuer.example.com/alice, "*"]
        notRequestPrincipals: [issuer.example.com/bob]
        namespaces: [default, "prod-*"]
        notNamespaces: [kube-system]
        ipBlocks: [10.0.0.0/8, 192.168.1.7]
        notIpBlocks: [10.9.0.0/16]
        remoteIpBlocks: ["fd00::/8"]
        notRemoteIpBlocks: ["::1"]
    - source: {namespaces: [other]}
)"),
            "name: \"default/p\" rules { from { "
            "principals: \"cluster.local/ns/default/sa/productpage\" principals: \"*/sa/ratings\" "
            "not_principals: \"cluster.local/ns/default/sa/evil\" "
            "namespaces: \"default\" namespaces: \"prod-*\" not_namespaces: \"kube-system\" "
            "ip_blocks: \"10.0.0.0/8\" ip_blocks: \"192.168.1.7\" not_ip_blocks: \"10.9.0.0/16\" "
            "remote_ip_blocks: \"fd00::/8\" not_remote_ip_blocks: \"::1\" "
            "request_principals: \"issuer.example.com/alice\" request_principals: \"*\" "
            "not_request_principals: \"issuer.example.com/bob\" } "
            "from { namespaces: \"other\" } }");
}

TEST(AuthorizationPolicyTest, OperationFields) {
  EXPECT_EQ(translated(R"(
  rules:
  - to:
    - operation:
        hosts: [reviews.default.svc.cluster.local, "*.example.com"]
        notHosts: [admin.example.com]
        ports: ["9080", 8080]
        notPorts: ["15000"]
        methods: [GET, HEAD]
        notMethods: [DELETE]
        paths: ["/reviews/*", /health]
        notPaths: ["/reviews/admin*"]
)"),
            "name: \"default/p\" rules { to { "
            "hosts: \"reviews.default.svc.cluster.local\" hosts: \"*.example.com\" "
            "not_hosts: \"admin.example.com\" ports: \"9080\" ports: \"8080\" "
            "not_ports: \"15000\" methods: \"GET\" methods: \"HEAD\" not_methods: \"DELETE\" "
            "paths: \"/reviews/*\" paths: \"/health\" not_paths: \"/reviews/admin*\" } }");
}

TEST(AuthorizationPolicyTest, Conditions) {
  EXPECT_EQ(translated(R"(
  rules:
  - when:
    - {key: "request.headers[X-Tenant]", values: [acme], notValues: [acme-test]}
    - {key: source.ip, values: [10.0.0.0/8]}
    - {key: remote.ip, notValues: [1.2.3.4]}
    - {key: source.namespace, values: [default]}
    - {key: source.principal, values: [cluster.local/ns/a/sa/b]}
    - {key: destination.ip, values: ["fd00::1"]}
    - {key: destination.port, values: ["9080"]}
    - {key: connection.sni, values: ["*.svc.cluster.local"]}
    - {key: request.auth.principal, values: [issuer/alice]}
)"),
            "name: \"default/p\" rules { "
            "when { key: \"request.headers[X-Tenant]\" values: \"acme\" "
            "not_values: \"acme-test\" } "
            "when { key: \"source.ip\" values: \"10.0.0.0/8\" } "
            "when { key: \"remote.ip\" not_values: \"1.2.3.4\" } "
            "when { key: \"source.namespace\" values: \"default\" } "
            "when { key: \"source.principal\" values: \"cluster.local/ns/a/sa/b\" } "
            "when { key: \"destination.ip\" values: \"fd00::1\" } "
            "when { key: \"destination.port\" values: \"9080\" } "
            "when { key: \"connection.sni\" values: \"*.svc.cluster.local\" } "
            "when { key: \"request.auth.principal\" values: \"issuer/alice\" } }");
}

TEST(AuthorizationPolicyTest, RuleWithFromToAndWhen) {
  EXPECT_EQ(translated(R"(
  action: DENY
  rules:
  - from: [{source: {namespaces: [dev]}}]
    to: [{operation: {methods: [POST]}}, {operation: {ports: ["5432"]}}]
    when: [{key: source.ip, notValues: [10.0.0.1]}]
  - to: [{operation: {paths: [/admin]}}]
)"),
            "name: \"default/p\" action: DENY rules { from { namespaces: \"dev\" } "
            "to { methods: \"POST\" } to { ports: \"5432\" } "
            "when { key: \"source.ip\" not_values: \"10.0.0.1\" } } "
            "rules { to { paths: \"/admin\" } }");
}

TEST(AuthorizationPolicyTest, PrincipalsWithSchemeLoseIt) {
  // The proxy compares identities without "spiffe://" on either side.
  EXPECT_EQ(translated("  rules: [{from: [{source: {principals: "
                       "[\"spiffe://cluster.local/ns/a/sa/b\"]}}]}]\n"),
            R"(name: "default/p" rules { from { principals: "cluster.local/ns/a/sa/b" } })");
}

TEST(AuthorizationPolicyTest, ClusterLocalStandsForTheMeshTrustDomain) {
  AuthorizationPolicies policies = load(withSpec(R"(
  rules:
  - from:
    - source:
        principals: [cluster.local/ns/a/sa/b, "*/ns/a/sa/c", other.org/ns/a/sa/d, "*"]
        notPrincipals: ["spiffe://cluster.local/ns/x/sa/y"]
    when: [{key: source.principal, values: [cluster.local/ns/a/sa/e]}]
)"),
                                        "istio-system", "example.org");
  auto rbac = policies.forWorkload("default", {});
  ASSERT_EQ(rbac.policies_size(), 1);
  const auto& rule = rbac.policies(0).rules(0);
  EXPECT_EQ(
      std::vector<std::string>(rule.from(0).principals().begin(), rule.from(0).principals().end()),
      (Errors{"example.org/ns/a/sa/b", "*/ns/a/sa/c", "other.org/ns/a/sa/d", "*"}));
  EXPECT_EQ(rule.from(0).not_principals(0), "example.org/ns/x/sa/y");
  EXPECT_EQ(rule.when(0).values(0), "example.org/ns/a/sa/e");
}

// ---- errors ----

struct ErrorCase {
  const char* spec;
  Errors expected;
};

class AuthorizationPolicyErrorTest : public ::testing::TestWithParam<ErrorCase> {};

TEST_P(AuthorizationPolicyErrorTest, IsReportedAndLeftOut) {
  EXPECT_EQ(errorsOf(GetParam().spec), GetParam().expected) << GetParam().spec;
}

const std::string kIp = " is not an IP address or CIDR range";
const std::string kPort = " is not a port number (1-65535)";

INSTANTIATE_TEST_SUITE_P(
    All, AuthorizationPolicyErrorTest,
    ::testing::Values(
        // Unknown fields, at every level.
        ErrorCase{"  rulez: []\n", {error("spec.rulez", "unknown field")}},
        ErrorCase{"  selector: {labels: {app: x}}\n",
                  {error("spec.selector.labels", "unknown field")}},
        ErrorCase{"  rules: [{form: []}]\n", {error("spec.rules[0].form", "unknown field")}},
        ErrorCase{"  rules: [{from: [{src: {}}]}]\n",
                  {error("spec.rules[0].from[0].src", "unknown field"),
                   error("spec.rules[0].from[0].source", "required")}},
        ErrorCase{"  rules: [{from: [{source: {principal: [a]}}]}]\n",
                  {error("spec.rules[0].from[0].source.principal", "unknown field")}},
        ErrorCase{"  rules: [{to: [{operation: {methodz: [GET]}}]}]\n",
                  {error("spec.rules[0].to[0].operation.methodz", "unknown field")}},
        ErrorCase{"  rules: [{when: [{key: source.ip, value: [1.2.3.4]}]}]\n",
                  {error("spec.rules[0].when[0].value", "unknown field")}},
        // Wrong types.
        ErrorCase{"  [ALLOW]\n", {error("spec", "must be a map")}},
        ErrorCase{"  rules: {from: []}\n", {error("spec.rules", "must be a list")}},
        ErrorCase{"  rules: [[]]\n",
                  {error("spec.rules[0]", "must be a map ({} matches every request)")}},
        ErrorCase{"  rules: [{from: {source: {}}}]\n",
                  {error("spec.rules[0].from", "must be a list")}},
        ErrorCase{"  rules: [{to: [{operation: [GET]}]}]\n",
                  {error("spec.rules[0].to[0].operation", "must be a map")}},
        ErrorCase{"  rules: [{to: [{operation: {methods: GET}}]}]\n",
                  {error("spec.rules[0].to[0].operation.methods", "must be a list")}},
        ErrorCase{"  rules: [{from: [{source: {principals: [{name: a}]}}]}]\n",
                  {error("spec.rules[0].from[0].source.principals[0]", "must be a string")}},
        ErrorCase{"  rules: [{when: [{key: [source.ip], values: [a]}]}]\n",
                  {error("spec.rules[0].when[0].key", "must be a string")}},
        ErrorCase{"  action: [DENY]\n  rules: [{}]\n",
                  {error("spec.action", "must be a string (ALLOW, DENY, AUDIT)")}},
        ErrorCase{"  selector: [app]\n", {error("spec.selector", "must be a map")}},
        ErrorCase{"  selector: {matchLabels: [app]}\n",
                  {error("spec.selector.matchLabels", "must be a map")}},
        ErrorCase{"  selector: {matchLabels: {app: [a, b]}}\n",
                  {error("spec.selector.matchLabels.app", "must be a string")}},
        // What the proxy does not enforce.
        ErrorCase{"  action: CUSTOM\n  provider: {name: ext-authz}\n  rules: [{}]\n",
                  {error("spec.provider", "not supported (only used by action CUSTOM)"),
                   error("spec.action", "CUSTOM is not supported (no external authorization)")}},
        ErrorCase{"  action: allow\n",
                  {error("spec.action", "unknown action \"allow\" (ALLOW, DENY, AUDIT)")}},
        ErrorCase{"  targetRef: {kind: Gateway, group: gateway.networking.k8s.io, name: gw}\n",
                  {error("spec.targetRef",
                         "not supported (policies apply to workloads by spec.selector)")}},
        ErrorCase{"  targetRefs: [{kind: Service, group: \"\", name: reviews}]\n",
                  {error("spec.targetRefs",
                         "not supported (policies apply to workloads by spec.selector)")}},
        ErrorCase{"  selector:\n    matchExpressions: [{key: app, operator: In, values: [a]}]\n",
                  {error("spec.selector.matchExpressions", "not supported (only matchLabels)")}},
        // Values.
        ErrorCase{"  rules: [{from: [{source: {ipBlocks: [10.0.0.0/33], notIpBlocks: [x]}}]}]\n",
                  {error("spec.rules[0].from[0].source.ipBlocks[0]", "\"10.0.0.0/33\"" + kIp),
                   error("spec.rules[0].from[0].source.notIpBlocks[0]", "\"x\"" + kIp)}},
        ErrorCase{
            "  rules: [{from: [{source: {remoteIpBlocks: [1.2.3], "
            "notRemoteIpBlocks: [\"fd00::/129\"]}}]}]\n",
            {error("spec.rules[0].from[0].source.remoteIpBlocks[0]", "\"1.2.3\"" + kIp),
             error("spec.rules[0].from[0].source.notRemoteIpBlocks[0]", "\"fd00::/129\"" + kIp)}},
        ErrorCase{"  rules: [{to: [{operation: {ports: [http], notPorts: [\"0\", \"70000\"]}}]}]\n",
                  {error("spec.rules[0].to[0].operation.ports[0]", "\"http\"" + kPort),
                   error("spec.rules[0].to[0].operation.notPorts[0]", "\"0\"" + kPort),
                   error("spec.rules[0].to[0].operation.notPorts[1]", "\"70000\"" + kPort)}},
        ErrorCase{"  rules: [{to: [{operation: {paths: [\"/api/{*}/x\"]}}]}]\n",
                  {error("spec.rules[0].to[0].operation.paths[0]",
                         "\"/api/{*}/x\": path templates ({*}, {**}) are not supported")}},
        ErrorCase{"  rules: [{from: [{source: {principals: [\"\"]}}]}]\n",
                  {error("spec.rules[0].from[0].source.principals[0]", "must not be empty")}},
        ErrorCase{"  rules: [{from: [{source: {principals: [\"spiffe://\"]}}]}]\n",
                  {error("spec.rules[0].from[0].source.principals[0]",
                         "\"spiffe://\" names no identity")}},
        // Conditions.
        ErrorCase{"  rules: [{when: [{key: destination.namespace, values: [a]}]}]\n",
                  {error("spec.rules[0].when[0].key",
                         "unknown condition key \"destination.namespace\"")}},
        ErrorCase{"  rules: [{when: [{key: \"request.auth.claims[groups]\", values: [a]}]}]\n",
                  {error("spec.rules[0].when[0].key",
                         "\"request.auth.claims[groups]\" is not supported")}},
        ErrorCase{"  rules: [{when: [{key: \"request.headers[]\", values: [a]}]}]\n",
                  {error("spec.rules[0].when[0].key", "no header name in \"request.headers[]\"")}},
        ErrorCase{"  rules: [{when: [{values: [a]}]}]\n",
                  {error("spec.rules[0].when[0].key", "required")}},
        ErrorCase{"  rules: [{when: [{key: source.ip}]}]\n",
                  {error("spec.rules[0].when[0]", "needs values or notValues")}},
        ErrorCase{"  rules: [{when: [{key: source.ip, values: [not-an-ip]}, "
                  "{key: destination.port, notValues: [\"80x\"]}]}]\n",
                  {error("spec.rules[0].when[0].values[0]", "\"not-an-ip\"" + kIp),
                   error("spec.rules[0].when[1].notValues[0]", "\"80x\"" + kPort)}},
        // Empty forms Istio refuses.
        ErrorCase{
            "  rules: [{from: []}]\n",
            {error("spec.rules[0].from", "must not be empty (leave it out to match everything)")}},
        ErrorCase{"  rules: [{to: [{}]}]\n", {error("spec.rules[0].to[0].operation", "required")}},
        ErrorCase{"  rules: [{from: [{source: {}}]}]\n",
                  {error("spec.rules[0].from[0].source", "must not be empty")}},
        ErrorCase{"  rules: [{to: [{operation: {methods: []}}]}]\n",
                  {error("spec.rules[0].to[0].operation", "must not be empty")}},
        // Every problem of a policy is reported.
        ErrorCase{"  action: DENY\n  rules:\n  - to: [{operation: {ports: [x]}}]\n"
                  "  - from: [{source: {ipBlocks: [y]}}]\n",
                  {error("spec.rules[0].to[0].operation.ports[0]", "\"x\"" + kPort),
                   error("spec.rules[1].from[0].source.ipBlocks[0]", "\"y\"" + kIp)}}));

TEST(AuthorizationPolicyTest, DryRunIsRefused) {
  AuthorizationPolicies policies = load(R"(
kind: AuthorizationPolicy
metadata:
  name: p
  annotations: {"istio.io/dry-run": "true"}
spec: {action: DENY, rules: [{}]}
)");
  EXPECT_EQ(messages(policies),
            (Errors{error("metadata.annotations[istio.io/dry-run]",
                          "dry-run is not supported (the policy is left out, not enforced)")}));
  EXPECT_EQ(policies.forWorkload("default", {}).policies_size(), 0);
}

TEST(AuthorizationPolicyTest, UnsupportedIstioVersionIsRefused) {
  AuthorizationPolicies policies = load(
      "apiVersion: security.istio.io/v1alpha1\nkind: AuthorizationPolicy\n"
      "metadata: {name: p}\nspec: {}\n");
  EXPECT_EQ(messages(policies), (Errors{"authz.yaml: AuthorizationPolicy default/p: apiVersion: "
                                        "\"security.istio.io/v1alpha1\" is not supported "
                                        "(security.istio.io/v1beta1, security.istio.io/v1)"}));
}

TEST(AuthorizationPolicyTest, SecondDefinitionIsRefused) {
  std::vector<ManifestError> load_errors;
  auto objects = testing::objectsFromText(withSpec("  rules: [{}]\n"), load_errors, "a.yaml");
  auto more =
      testing::objectsFromText(withSpec("  action: DENY\n  rules: [{}]\n"), load_errors, "b.yaml");
  objects.insert(objects.end(), more.begin(), more.end());
  AuthorizationPolicies policies(objects);
  EXPECT_EQ(messages(policies), (Errors{"b.yaml: AuthorizationPolicy default/p: defined again "
                                        "(first in a.yaml); left out"}));
  auto rbac = policies.forWorkload("default", {});
  ASSERT_EQ(rbac.policies_size(), 1);
  EXPECT_EQ(rbac.policies(0).action(), config::rbac::v1::Policy::ALLOW);
}

TEST(AuthorizationPolicyTest, InvalidPolicyIsLeftOutOthersKept) {
  AuthorizationPolicies policies = load(withSpec("  rules: [{to: [{operation: {ports: [x]}}]}]\n") +
                                        "---\n"
                                        "kind: AuthorizationPolicy\n"
                                        "metadata: {name: good, namespace: default}\n"
                                        "spec: {action: DENY, rules: [{}]}\n");
  EXPECT_EQ(messages(policies).size(), 1u);
  EXPECT_EQ(names(policies.forWorkload("default", {})), (Errors{"default/good"}));
}

}  // namespace
}  // namespace remora::pilot
