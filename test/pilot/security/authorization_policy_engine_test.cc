// End to end: AuthorizationPolicy YAML -> pilot's translation (run as the rbac_for_workload
// tool, which links pilot's protobuf library) -> the proxy's RBAC engine -> allow or deny, with
// Istio's meaning.

#include <google/protobuf/text_format.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>

#include "gtest/gtest.h"
#include "source/common/rbac/engine.h"

namespace remora::rbac {
namespace {

std::string readFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// The Rbac pilot gives a workload in `ns` with `labels` ("app=reviews version=v1"); `flags`
// are the tool's options. Expects no manifest error.
config::rbac::v1::Rbac pilotRbac(const std::string& yaml, const std::string& ns,
                                 const std::string& labels, const std::string& flags = "") {
  const char* tmp = std::getenv("TEST_TMPDIR");
  std::string dir = tmp ? tmp : "/tmp";
  std::string manifest = dir + "/authz.yaml";
  std::string errors = dir + "/errors.txt";
  std::ofstream(manifest) << yaml;
  std::string command = "test/pilot/security/rbac_for_workload " + flags + " " + manifest + " " +
                        ns + " " + labels + " 2>" + errors;
  std::string out;
  if (FILE* pipe = popen(command.c_str(), "r")) {
    char buffer[4096];
    size_t n = 0;
    while ((n = fread(buffer, 1, sizeof(buffer), pipe)) > 0) out.append(buffer, n);
    EXPECT_EQ(pclose(pipe), 0) << command;
  } else {
    ADD_FAILURE() << "cannot run " << command;
  }
  EXPECT_EQ(readFile(errors), "");
  config::rbac::v1::Rbac rbac;
  EXPECT_TRUE(google::protobuf::TextFormat::ParseFromString(out, &rbac)) << out;
  return rbac;
}

// The engine for pilot's output; every Rbac pilot produces must be valid for the proxy.
std::unique_ptr<Engine> engineFor(const std::string& yaml, const std::string& ns,
                                  const std::string& labels, const std::string& flags = "") {
  config::Errors errors;
  auto engine = Engine::create(pilotRbac(yaml, ns, labels, flags), "", errors);
  EXPECT_TRUE(errors.empty()) << errors.joined();
  return engine;
}

// An HTTP request from a peer with this SPIFFE ID ("" for none).
bool allowed(const Engine& engine, const std::string& peer, const std::string& method,
             const std::string& path) {
  AuthorizationRequest request;
  request.peer_principal = peer;
  request.source_ip = *IpAddress::parse("10.1.2.3");
  request.destination_ip = *IpAddress::parse("10.1.9.9");
  request.destination_port = 9080;
  request.is_http = true;
  request.host = "reviews:9080";
  request.method = method;
  request.path = path;
  return engine.evaluate(request).allowed;
}

constexpr const char* kProductpage = "spiffe://cluster.local/ns/default/sa/productpage";
constexpr const char* kRatings = "spiffe://cluster.local/ns/default/sa/ratings";

// Istio's documentation example.
constexpr const char* kReviewsPolicy = R"(
apiVersion: security.istio.io/v1beta1
kind: AuthorizationPolicy
metadata:
  name: reviews-viewer
  namespace: default
spec:
  selector:
    matchLabels:
      app: reviews
  action: ALLOW
  rules:
  - from:
    - source:
        principals: ["cluster.local/ns/default/sa/productpage"]
    to:
    - operation:
        methods: ["GET"]
        paths: ["/reviews/*"]
)";

TEST(AuthorizationPolicyEngineTest, IstioReviewsExample) {
  auto engine = engineFor(kReviewsPolicy, "default", "app=reviews version=v1");
  ASSERT_NE(engine, nullptr);
  EXPECT_TRUE(allowed(*engine, kProductpage, "GET", "/reviews/1"));
  EXPECT_TRUE(allowed(*engine, kProductpage, "GET", "/reviews/1?page=2"));
  EXPECT_FALSE(allowed(*engine, kProductpage, "POST", "/reviews/1"));
  EXPECT_FALSE(allowed(*engine, kProductpage, "GET", "/ratings/1"));
  EXPECT_FALSE(allowed(*engine, kRatings, "GET", "/reviews/1"));
  EXPECT_FALSE(allowed(*engine, "", "GET", "/reviews/1"));
  Decision decision = engine->evaluate([] {
    AuthorizationRequest r;
    r.peer_principal = kProductpage;
    r.is_http = true;
    r.method = "GET";
    r.path = "/reviews/1";
    return r;
  }());
  EXPECT_EQ(decision.policy, "default/reviews-viewer");
}

TEST(AuthorizationPolicyEngineTest, WorkloadNotSelectedIsNotRestricted) {
  auto engine = engineFor(kReviewsPolicy, "default", "app=ratings");
  ASSERT_NE(engine, nullptr);
  EXPECT_EQ(engine->policyCount(), 0u);
  EXPECT_TRUE(allowed(*engine, kRatings, "POST", "/anything"));
  auto other_namespace = engineFor(kReviewsPolicy, "prod", "app=reviews");
  EXPECT_TRUE(allowed(*other_namespace, kRatings, "POST", "/reviews/1"));
}

TEST(AuthorizationPolicyEngineTest, AllowNothingAndAllowAll) {
  auto nothing = engineFor("kind: AuthorizationPolicy\nmetadata: {name: deny-all}\nspec: {}\n",
                           "default", "app=reviews");
  EXPECT_FALSE(allowed(*nothing, kProductpage, "GET", "/"));
  auto all =
      engineFor("kind: AuthorizationPolicy\nmetadata: {name: allow-all}\nspec: {rules: [{}]}\n",
                "default", "app=reviews");
  EXPECT_TRUE(allowed(*all, "", "DELETE", "/"));
}

TEST(AuthorizationPolicyEngineTest, MeshWideDenyWinsOverNamespaceAllow) {
  std::string yaml = std::string(R"(
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: no-ratings, namespace: istio-system}
spec:
  action: DENY
  rules: [{from: [{source: {principals: ["*/sa/ratings"]}}]}]
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: allow-default, namespace: default}
spec:
  rules: [{from: [{source: {namespaces: [default]}}]}]
)");
  auto engine = engineFor(yaml, "default", "app=reviews");
  EXPECT_TRUE(allowed(*engine, kProductpage, "GET", "/reviews/1"));
  EXPECT_FALSE(allowed(*engine, kRatings, "GET", "/reviews/1"));
  EXPECT_FALSE(allowed(*engine, "spiffe://cluster.local/ns/prod/sa/web", "GET", "/reviews/1"));
}

TEST(AuthorizationPolicyEngineTest, PrincipalForms) {
  auto policy = [](const std::string& principal) {
    return "kind: AuthorizationPolicy\nmetadata: {name: p}\nspec:\n  rules: [{from: [{source: "
           "{principals: [\"" +
           principal + "\"]}}]}]\n";
  };
  auto prefix = engineFor(policy("cluster.local/ns/default/*"), "default", "");
  EXPECT_TRUE(allowed(*prefix, kRatings, "GET", "/"));
  EXPECT_FALSE(allowed(*prefix, "spiffe://cluster.local/ns/prod/sa/ratings", "GET", "/"));
  auto suffix = engineFor(policy("*/sa/ratings"), "default", "");
  EXPECT_TRUE(allowed(*suffix, "spiffe://cluster.local/ns/prod/sa/ratings", "GET", "/"));
  EXPECT_FALSE(allowed(*suffix, kProductpage, "GET", "/"));
  auto any = engineFor(policy("*"), "default", "");
  EXPECT_TRUE(allowed(*any, kProductpage, "GET", "/"));
  EXPECT_FALSE(allowed(*any, "", "GET", "/"));  // "*": any authenticated peer, as in Istio
  auto with_scheme =
      engineFor(policy("spiffe://cluster.local/ns/default/sa/ratings"), "default", "");
  EXPECT_TRUE(allowed(*with_scheme, kRatings, "GET", "/"));
  EXPECT_FALSE(allowed(*with_scheme, kProductpage, "GET", "/"));
}

TEST(AuthorizationPolicyEngineTest, ClusterLocalMeansTheMeshTrustDomain) {
  auto engine = engineFor(kReviewsPolicy, "default", "app=reviews", "--trust-domain example.org");
  EXPECT_TRUE(
      allowed(*engine, "spiffe://example.org/ns/default/sa/productpage", "GET", "/reviews/1"));
  EXPECT_FALSE(allowed(*engine, "spiffe://example.org/ns/default/sa/ratings", "GET", "/reviews/1"));
}

TEST(AuthorizationPolicyEngineTest, EveryFieldPilotAcceptsTheEngineAccepts) {
  // engineFor() fails the test if the engine refuses anything pilot let through.
  auto engine = engineFor(R"(
kind: AuthorizationPolicy
metadata: {name: everything}
spec:
  action: AUDIT
  rules:
  - from:
    - source:
        principals: [cluster.local/ns/a/sa/b, "*"]
        notPrincipals: ["spiffe://cluster.local/ns/a/sa/c"]
        requestPrincipals: [iss/sub]
        notRequestPrincipals: ["*"]
        namespaces: [a]
        notNamespaces: ["b*"]
        ipBlocks: [10.0.0.0/8, 1.2.3.4, "fd00::/8"]
        notIpBlocks: ["::1/128"]
        remoteIpBlocks: [0.0.0.0/0]
        notRemoteIpBlocks: [10.1.2.3/32]
    to:
    - operation:
        hosts: ["*.example.com"]
        notHosts: [EXAMPLE.com]
        ports: ["1", 65535]
        notPorts: ["8080"]
        methods: [GET]
        notMethods: [PUT]
        paths: ["/a*", "*.js", /exact]
        notPaths: ["*"]
    when:
    - {key: "request.headers[x-a]", values: ["*"], notValues: [b]}
    - {key: source.ip, values: [10.0.0.0/8]}
    - {key: remote.ip, values: ["::/0"]}
    - {key: source.namespace, values: [a]}
    - {key: source.principal, values: [cluster.local/ns/a/sa/b]}
    - {key: destination.ip, notValues: [1.1.1.1]}
    - {key: destination.port, values: ["443"]}
    - {key: connection.sni, values: [a.example.com]}
    - {key: request.auth.principal, values: [iss/sub]}
)",
                          "default", "");
  ASSERT_NE(engine, nullptr);
  EXPECT_EQ(engine->policyCount(), 1u);
}

}  // namespace
}  // namespace remora::rbac
