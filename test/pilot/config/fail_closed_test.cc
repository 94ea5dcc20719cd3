// Fail closed, one test per kind of bad input: what the proxies get after a broken edit is the
// last good translation (compared whole), and a security object broken from the start gets its
// strictest reading. Through the real pipeline: folder source -> guard -> translator.

#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>

#include "source/pilot/config_pipeline.h"
#include "source/pilot/folder_source.h"
#include "test/pilot/config/config_test_util.h"

namespace remora::pilot {
namespace {

using testing::dump;
using testing::ScratchFolder;

constexpr const char* kWorkloads = R"(apiVersion: v1
kind: Service
metadata: {name: reviews, namespace: default}
spec: {clusterIP: 10.96.0.10, ports: [{name: http, port: 9080}]}
---
apiVersion: v1
kind: Endpoints
metadata: {name: reviews, namespace: default}
subsets:
- addresses:
  - {ip: 10.0.0.11, targetRef: {kind: Pod, name: reviews-1}}
  - {ip: 10.0.0.12, targetRef: {kind: Pod, name: reviews-2}}
  ports: [{name: http, port: 9080}]
---
apiVersion: v1
kind: Pod
metadata: {name: reviews-1, namespace: default, labels: {app: reviews, version: v1}}
spec: {containers: [{name: app, ports: [{name: http, containerPort: 9080}]}]}
status: {podIP: 10.0.0.11}
---
apiVersion: v1
kind: Pod
metadata: {name: reviews-2, namespace: default, labels: {app: reviews, version: v2}}
spec: {containers: [{name: app, ports: [{name: http, containerPort: 9080}]}]}
status: {podIP: 10.0.0.12}
---
apiVersion: v1
kind: Pod
metadata: {name: web-1, namespace: default, labels: {app: web}}
spec: {serviceAccountName: web}
status: {podIP: 10.0.0.20}
)";

constexpr const char* kDestinationRule = R"(apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: reviews, namespace: default}
spec:
  host: reviews
  trafficPolicy: {loadBalancer: {simple: RANDOM}}
  subsets:
  - {name: v1, labels: {version: v1}}
  - {name: v2, labels: {version: v2}}
)";

std::string virtualService(const std::string& http) {
  return "apiVersion: networking.istio.io/v1\nkind: VirtualService\n"
         "metadata: {name: reviews, namespace: default}\nspec:\n  hosts: [reviews]\n  http:\n" +
         http;
}

const std::string kRouteToV1 =
    "  - match: [{uri: {prefix: /}}]\n    route: [{destination: {host: reviews, subset: v1}}]\n";

constexpr const char* kSecurity = R"(apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: {name: reviews-strict, namespace: default}
spec:
  selector: {matchLabels: {app: reviews}}
  mtls: {mode: STRICT}
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: reviews-allow, namespace: default}
spec:
  selector: {matchLabels: {app: reviews}}
  action: ALLOW
  rules:
  - from: [{source: {principals: ["cluster.local/ns/default/sa/web"]}}]
)";

// A folder, its source and pipeline; reload() translates what the folder holds now.
class Mesh {
 public:
  Mesh() {
    std::string error;
    source_ = FolderSource::open(folder.path(), error);
    EXPECT_NE(source_, nullptr) << error;
    pipeline_ = std::make_unique<ConfigPipeline>(*source_, TranslateOptions{}, issues);
  }
  std::shared_ptr<const Translator> reload() { return pipeline_->reload().translator; }
  // Every current issue, one a line.
  std::string lines() const {
    std::string out;
    for (const auto& issue : issues.current()) out += issue.reason + " " + issue.line() + "\n";
    return out;
  }
  bool has(const std::string& text) const { return lines().find(text) != std::string::npos; }

  ScratchFolder folder;
  ConfigIssues issues;

 private:
  std::unique_ptr<FolderSource> source_;
  std::unique_ptr<ConfigPipeline> pipeline_;
};

// The translation of exactly these files, from scratch.
std::shared_ptr<const Translator> translationOf(
    const std::vector<std::pair<std::string, std::string>>& files) {
  Mesh mesh;
  for (const auto& [name, text] : files) mesh.folder.write(name, text);
  return mesh.reload();
}

TEST(FailClosedTest, AYamlSyntaxErrorKeepsStrictMtlsAndTheAllowPolicy) {
  Mesh mesh;
  mesh.folder.write("workloads.yaml", kWorkloads);
  mesh.folder.write("security.yaml", kSecurity);
  auto good = mesh.reload();
  ASSERT_EQ(mesh.lines(), "");
  ASSERT_EQ(good->peerAuthenticationMode("default", "reviews-1", 9080), MtlsMode::kStrict);
  // The edit that used to open the pod: a syntax error anywhere in the file.
  mesh.folder.write("security.yaml", std::string(kSecurity) + "  - to: [{operation: {paths: [\n");
  auto after = mesh.reload();
  EXPECT_EQ(after->peerAuthenticationMode("default", "reviews-1", 9080), MtlsMode::kStrict);
  EXPECT_EQ(dump(*after, "default", "reviews-1"), dump(*good, "default", "reviews-1"));
  EXPECT_TRUE(mesh.has("parse_error security.yaml: not valid YAML"));
  EXPECT_TRUE(mesh.has("the objects of its last good version stay in force"));
}

// Pilot started with the file already broken: nothing to keep, so each document is read on
// its own; the one that does not parse is known by its kind and name and read strictly.
TEST(FailClosedTest, AFileBrokenFromTheStartIsReadDocumentByDocument) {
  Mesh mesh;
  mesh.folder.write("workloads.yaml", kWorkloads);
  mesh.folder.write("security.yaml", std::string(kSecurity) + "    to: [{operation: {paths: [\n");
  auto after = mesh.reload();
  EXPECT_EQ(after->peerAuthenticationMode("default", "reviews-1", 9080), MtlsMode::kStrict);
  // The policy's selector is in the broken document: the whole namespace allows nothing.
  auto deny_all = translationOf({{"workloads.yaml", kWorkloads},
                                 {"security.yaml",
                                  "apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\n"
                                  "metadata: {name: reviews-allow, namespace: default}\n"
                                  "spec: {action: ALLOW}\n"}});
  EXPECT_EQ(dump(*after, "default", "web-1"), dump(*deny_all, "default", "web-1"));
  EXPECT_EQ(dump(*after, "default", "reviews-1").find("principal"), std::string::npos);
  EXPECT_TRUE(
      mesh.has("parse_error AuthorizationPolicy default/reviews-allow (security.yaml): "
               "its document is not valid YAML"))
      << mesh.lines();
  EXPECT_TRUE(mesh.has("its workloads are denied everything"));
}

TEST(FailClosedTest, AnUnknownFieldInAVirtualServiceKeepsItsLastGoodRoutes) {
  Mesh mesh;
  mesh.folder.write("workloads.yaml", kWorkloads);
  mesh.folder.write("rules.yaml", kDestinationRule);
  mesh.folder.write("routes.yaml", virtualService(kRouteToV1));
  auto good = mesh.reload();
  ASSERT_EQ(mesh.lines(), "");
  // A typo'd match would otherwise send everything to v2.
  mesh.folder.write("routes.yaml",
                    virtualService("  - matchh: [{uri: {prefix: /}}]\n    route: [{destination: "
                                   "{host: reviews, subset: v2}}]\n"));
  auto after = mesh.reload();
  EXPECT_EQ(dump(*after, "default", "web-1"), dump(*good, "default", "web-1"));
  EXPECT_TRUE(
      mesh.has("unknown_field VirtualService default/reviews (routes.yaml): spec.http[0].matchh: "
               "unknown field\n"));
  EXPECT_TRUE(
      mesh.has("rejected VirtualService default/reviews (routes.yaml): rejected; its "
               "last good version stays in force"));
}

TEST(FailClosedTest, TyposInADestinationRuleKeepItsLastGoodVersion) {
  for (const char* broken :
       {"  subet: [{name: v1}]\n",                               // unknown field
        "  subsets: [{name: v1, lables: {version: v1}}]\n",      // unknown nested field
        "  trafficPolicy: {loadBalancer: {simple: FASTEST}}\n",  // unknown enum value
        "  trafficPolicy: {connectionPool: {tcp: {maxConnections: many}}}\n"}) {  // wrong type
    SCOPED_TRACE(broken);
    Mesh mesh;
    mesh.folder.write("workloads.yaml", kWorkloads);
    mesh.folder.write("rules.yaml", kDestinationRule);
    mesh.folder.write("routes.yaml", virtualService(kRouteToV1));
    auto good = mesh.reload();
    mesh.folder.write("rules.yaml",
                      "apiVersion: networking.istio.io/v1\nkind: DestinationRule\n"
                      "metadata: {name: reviews, namespace: default}\nspec:\n"
                      "  host: reviews\n" +
                          std::string(broken));
    auto after = mesh.reload();
    EXPECT_EQ(dump(*after, "default", "web-1"), dump(*good, "default", "web-1"));
    EXPECT_TRUE(mesh.has("DestinationRule default/reviews (rules.yaml): spec."));
    EXPECT_TRUE(mesh.has("its last good version stays in force"));
  }
}

TEST(FailClosedTest, AWrongTypeInAKubernetesObjectKeepsItsLastGoodVersion) {
  Mesh mesh;
  mesh.folder.write("workloads.yaml", kWorkloads);
  auto good = mesh.reload();
  std::string broken = kWorkloads;
  broken.replace(broken.find("{name: http, port: 9080}]}"), 24, "{name: http, port: [9080]}");
  mesh.folder.write("workloads.yaml", broken);
  auto after = mesh.reload();
  EXPECT_EQ(dump(*after, "default", "web-1"), dump(*good, "default", "web-1"));
  EXPECT_TRUE(
      mesh.has("wrong_type Service default/reviews (workloads.yaml): spec.ports[0].port: "
               "must be a whole number"));
}

TEST(FailClosedTest, ABrokenAllowPolicyWithoutAGoodVersionAllowsNothing) {
  std::string broken = std::string(kSecurity) + "  - from: [{source: {principalz: [x]}}]\n";
  Mesh mesh;
  mesh.folder.write("workloads.yaml", kWorkloads);
  mesh.folder.write("security.yaml", broken);
  auto after = mesh.reload();
  auto deny_all =
      translationOf({{"workloads.yaml", kWorkloads},
                     {"security.yaml",
                      std::string(kSecurity).substr(0, std::string(kSecurity).find("  rules:"))}});
  EXPECT_EQ(dump(*after, "default", "reviews-1"), dump(*deny_all, "default", "reviews-1"));
  EXPECT_NE(dump(*after, "default", "reviews-1"),
            dump(*translationOf({{"workloads.yaml", kWorkloads}}), "default", "reviews-1"));
  EXPECT_TRUE(mesh.has("spec.rules[1].from[0].source.principalz: unknown field"));
  EXPECT_TRUE(mesh.has("rejected; no good version yet, so its workloads are denied everything"));
}

TEST(FailClosedTest, ABrokenDenyPolicyWithoutAGoodVersionDeniesEverything) {
  const std::string deny =
      "apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\n"
      "metadata: {name: no-admin, namespace: default}\nspec:\n"
      "  selector: {matchLabels: {app: reviews}}\n  action: DENY\n  rules:\n";
  Mesh mesh;
  mesh.folder.write("workloads.yaml", kWorkloads);
  mesh.folder.write("deny.yaml", deny + "  - to: [{operation: {pathz: [/admin]}}]\n");
  auto after = mesh.reload();
  auto deny_all = translationOf({{"workloads.yaml", kWorkloads}, {"deny.yaml", deny + "  - {}\n"}});
  EXPECT_EQ(dump(*after, "default", "reviews-1"), dump(*deny_all, "default", "reviews-1"));
  // Other workloads are not touched.
  EXPECT_EQ(dump(*after, "default", "web-1"),
            dump(*translationOf({{"workloads.yaml", kWorkloads}}), "default", "web-1"));
}

TEST(FailClosedTest, ABrokenPeerAuthenticationWithoutAGoodVersionIsStrict) {
  Mesh mesh;
  mesh.folder.write("workloads.yaml", kWorkloads);
  mesh.folder.write("mtls.yaml",
                    "apiVersion: security.istio.io/v1\nkind: PeerAuthentication\n"
                    "metadata: {name: reviews, namespace: default}\n"
                    "spec: {selector: {matchLabels: {app: reviews}}, mtls: {mode: PERMISIVE}}\n");
  auto after = mesh.reload();
  EXPECT_EQ(after->peerAuthenticationMode("default", "reviews-1", 9080), MtlsMode::kStrict);
  EXPECT_EQ(after->peerAuthenticationMode("default", "web-1", 0), MtlsMode::kPermissive);
  EXPECT_TRUE(
      mesh.has("bad_enum PeerAuthentication default/reviews (mtls.yaml): spec.mtls.mode: "
               "\"PERMISIVE\" is not one of UNSET, DISABLE, PERMISSIVE, STRICT"));
  EXPECT_TRUE(mesh.has("no good version yet, so STRICT applies to its workloads"));
  // A selector that cannot be read widens the scope to the namespace, never narrows it.
  mesh.folder.write("mtls.yaml",
                    "apiVersion: security.istio.io/v1\nkind: PeerAuthentication\n"
                    "metadata: {name: reviews, namespace: default}\n"
                    "spec: {selector: {matchLabels: [app]}, mtls: {mode: DISABLE}}\n");
  after = mesh.reload();
  EXPECT_EQ(after->peerAuthenticationMode("default", "web-1", 0), MtlsMode::kStrict);
}

// Problems only the policy readers find (a value, not a field) count the same.
TEST(FailClosedTest, APeerAuthenticationTheReaderRefusesIsStrictToo) {
  Mesh mesh;
  mesh.folder.write("workloads.yaml", kWorkloads);
  // portLevelMtls needs a selector; the port is out of range.
  mesh.folder.write("mtls.yaml",
                    "apiVersion: security.istio.io/v1\nkind: PeerAuthentication\n"
                    "metadata: {name: default, namespace: default}\n"
                    "spec: {mtls: {mode: DISABLE}, portLevelMtls: {70000: {mode: DISABLE}}}\n");
  auto after = mesh.reload();
  EXPECT_EQ(after->peerAuthenticationMode("default", "web-1", 0), MtlsMode::kStrict);
  EXPECT_EQ(after->peerAuthenticationMode("default", "reviews-1", 9080), MtlsMode::kStrict);
  EXPECT_TRUE(
      mesh.has("invalid PeerAuthentication default/default (mtls.yaml): "
               "spec.portLevelMtls"))
      << mesh.lines();
}

TEST(FailClosedTest, DuplicatesAreReportedAndTheOlderFileWins) {
  const std::string to_v1 = virtualService(kRouteToV1);
  const std::string to_v2 = virtualService(
      "  - match: [{uri: {prefix: /}}]\n    route: [{destination: {host: reviews, subset: v2}}]\n");
  auto v1 = translationOf(
      {{"workloads.yaml", kWorkloads}, {"rules.yaml", kDestinationRule}, {"routes.yaml", to_v1}});
  auto v2 = translationOf(
      {{"workloads.yaml", kWorkloads}, {"rules.yaml", kDestinationRule}, {"routes.yaml", to_v2}});
  ASSERT_NE(dump(*v1, "default", "web-1"), dump(*v2, "default", "web-1"));
  for (bool older_first : {true, false}) {
    Mesh mesh;
    mesh.folder.write("workloads.yaml", kWorkloads);
    mesh.folder.write("rules.yaml", kDestinationRule);
    // "z-" sorts last: it wins only by being older.
    mesh.folder.write("a-routes.yaml", to_v1, older_first ? 1000000 : 2000000);
    mesh.folder.write("z-routes.yaml", to_v2, older_first ? 2000000 : 1000000);
    auto translator = mesh.reload();
    EXPECT_EQ(dump(*translator, "default", "web-1"),
              dump(older_first ? *v1 : *v2, "default", "web-1"));
    std::string loser = older_first ? "z-routes.yaml" : "a-routes.yaml";
    std::string winner = older_first ? "a-routes.yaml" : "z-routes.yaml";
    EXPECT_TRUE(mesh.has("duplicate VirtualService default/reviews (" + loser +
                         "): defined again (the definition in " + winner +
                         ", the older file, is used); this one is ignored"));
  }
}

TEST(FailClosedTest, UnsupportedIstioKindsAreReportedOncePerObject) {
  Mesh mesh;
  mesh.folder.write("workloads.yaml", kWorkloads);
  mesh.folder.write("other.yaml",
                    "apiVersion: security.istio.io/v1\nkind: RequestAuthentication\n"
                    "metadata: {name: jwt, namespace: default}\nspec: {}\n---\n"
                    "apiVersion: networking.istio.io/v1\nkind: Gateway\n"
                    "metadata: {name: gw, namespace: default}\nspec: {}\n---\n"
                    "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\n");
  auto translator = mesh.reload();
  mesh.reload();
  EXPECT_EQ(mesh.lines(),
            "unsupported_kind Gateway default/gw (other.yaml): kind Gateway is not supported by "
            "remora-pilot; the object is ignored\n"
            "unsupported_kind RequestAuthentication default/jwt (other.yaml): kind "
            "RequestAuthentication is not supported by remora-pilot; the object is ignored\n");
}

TEST(FailClosedTest, ADeletedObjectIsGoneNotKept) {
  Mesh mesh;
  mesh.folder.write("workloads.yaml", kWorkloads);
  mesh.folder.write("security.yaml", kSecurity);
  mesh.reload();
  mesh.folder.remove("security.yaml");
  auto after = mesh.reload();
  EXPECT_EQ(after->peerAuthenticationMode("default", "reviews-1", 9080), MtlsMode::kPermissive);
  // And a rejected object that was deleted has no last good version afterwards.
  mesh.folder.write("security.yaml", std::string(kSecurity) + "  - fromm: []\n");
  after = mesh.reload();
  EXPECT_TRUE(mesh.has("no good version yet, so its workloads are denied everything"));
}

TEST(FailClosedTest, ProblemsShowOnThePageAndInTheMetric) {
  Mesh mesh;
  mesh.folder.write("workloads.yaml", kWorkloads);
  mesh.folder.write("rules.yaml", kDestinationRule);
  mesh.folder.write("routes.yaml", virtualService("  - matchh: []\n    route: []\n"));
  mesh.reload();
  std::string page = mesh.issues.page();
  EXPECT_NE(page.find("{\"severity\": \"error\", \"kind\": \"VirtualService\", \"namespace\": "
                      "\"default\", \"name\": \"reviews\", \"file\": \"routes.yaml\", \"field\": "
                      "\"spec.http[0].matchh\", \"reason\": \"unknown_field\", \"message\": "
                      "\"unknown field\"}"),
            std::string::npos)
      << page;
  std::string metrics = mesh.issues.metrics();
  EXPECT_NE(metrics.find("# TYPE pilot_config_errors gauge\n"), std::string::npos);
  EXPECT_NE(
      metrics.find("pilot_config_errors{kind=\"VirtualService\",reason=\"unknown_field\"} 1\n"),
      std::string::npos)
      << metrics;
  // promtool accepts it (with problems of the source too: kind "source").
  mesh.folder.write("broken.yaml", "kind: [\n");
  mesh.reload();
  if (access("/usr/bin/promtool", X_OK) == 0) {
    std::string path = mesh.folder.path() + "/../metrics.txt";
    std::ofstream(path) << mesh.issues.metrics();
    std::string command = "/usr/bin/promtool check metrics < " + path + " > " + path + ".out 2>&1";
    EXPECT_EQ(std::system(command.c_str()), 0);
    std::ifstream lint(path + ".out");
    std::string output((std::istreambuf_iterator<char>(lint)), std::istreambuf_iterator<char>());
    EXPECT_EQ(output, "");
    EXPECT_NE(
        mesh.issues.metrics().find("pilot_config_errors{kind=\"source\",reason=\"parse_error\"} "),
        std::string::npos);
  }
  mesh.folder.remove("broken.yaml");
  // Fixed: the problems are gone from both.
  mesh.folder.write("routes.yaml", virtualService(kRouteToV1));
  mesh.reload();
  EXPECT_EQ(mesh.issues.page(), "{\"errors\": 0, \"warnings\": 0, \"issues\": [\n]}\n");
  EXPECT_EQ(mesh.issues.metrics().find("pilot_config_errors{"), std::string::npos);
}

}  // namespace
}  // namespace remora::pilot
