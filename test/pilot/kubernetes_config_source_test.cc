// The Kubernetes API server as pilot's config source: the golden cases' manifests served as
// API list responses by the scripted API server over TLS (Endpoints as EndpointSlices, several
// per service where some addresses are not ready), translated through KubernetesConfigSource,
// give the folder goldens' resources and errors (errors name "kubernetes:<Kind>/<ns>/<name>"
// instead of the file; where output follows input order, the folder's objects are taken in
// the API's order). And the source's own contract: not synced until every kind is listed,
// a watch event wakes waitForChange and shows in the next snapshot.

#include <gtest/gtest.h>

#include <google/protobuf/util/json_util.h>

#include <algorithm>
#include <map>
#include <tuple>

#include "source/pilot/kubernetes_config_source.h"
#include "source/pilot/translator.h"
#include "test/pilot/api_objects.h"
#include "test/pilot/kubernetes/fake_api_server.h"
#include "test/pilot/kubernetes/test_certificates.h"
#include "test/pilot/translator_golden_render.h"

namespace remora::pilot {
namespace {

namespace k8s = kubernetes::testing;

class KubernetesConfigSourceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    pki_ = k8s::makeTestPki();
    ASSERT_FALSE(pki_.ca_pem.empty());
    server_ = std::make_unique<k8s::FakeApiServer>(pki_.server_cert_pem, pki_.server_key_pem);
    server_->setAcceptedToken("secret-token");
  }
  void TearDown() override {
    source_.reset();  // its threads talk to the server
    server_.reset();
  }

  void start() {
    kubernetes::KubernetesSourceOptions options;
    options.connection.host = "127.0.0.1";
    options.connection.port = server_->port();
    options.connection.ca_pem = pki_.ca_pem;
    options.connection.token = "secret-token";
    options.reflector.initial_backoff = std::chrono::milliseconds(5);
    options.reflector.max_backoff = std::chrono::milliseconds(50);
    options.reflector.log = [](const std::string&) {};
    auto created = KubernetesConfigSource::create(std::move(options));
    ASSERT_TRUE(created.ok()) << created.error();
    source_ = std::move(created).value();
    source_->start();
  }

  bool waitSynced() {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (!source_->synced() && std::chrono::steady_clock::now() < deadline) {
      source_->waitForChange(std::chrono::milliseconds(50));
    }
    return source_->synced();
  }

  // The translation of the case's manifests read from the API server, as a golden file.
  std::string renderFromApi(const std::string& manifests, const std::string& ns,
                            const std::string& pod) {
    std::vector<ManifestError> errors;
    testing::serveCollections(*server_, testing::apiCollections(loadManifests(manifests, errors)),
                              3);
    start();
    EXPECT_TRUE(waitSynced());
    SourceSnapshot snapshot = source_->snapshot();
    Translator translator(std::move(snapshot.objects), TranslateOptions{});
    return testing::renderGolden({}, translator, ns, pod);
  }

  k8s::TestPki pki_;
  std::unique_ptr<k8s::FakeApiServer> server_;
  std::unique_ptr<KubernetesConfigSource> source_;
};

// Error lines without where they came from (a file, or kubernetes:<Kind>/<ns>/<name>), sorted:
// the sources list objects in different orders.
std::string withoutSources(const std::string& golden) {
  size_t end = golden.find("\n# clusters\n");
  std::vector<std::string> errors;
  size_t line = golden.find('\n') + 1;
  while (line < end) {
    size_t next = golden.find('\n', line);
    std::string text = golden.substr(line, next - line);
    errors.push_back(text.substr(text.find(": ") + 2));
    line = next + 1;
  }
  std::sort(errors.begin(), errors.end());
  std::string out = "# errors\n";
  for (const std::string& error : errors) out += error + "\n";
  return out + golden.substr(end + 1);
}

void expectSameAsGolden(const std::string& actual, const std::string& golden_path) {
  std::string expected = testing::readGoldenFile(golden_path);
  ASSERT_FALSE(expected.empty()) << golden_path;
  EXPECT_EQ(withoutSources(actual), withoutSources(expected)) << golden_path;
}

// The folder's translation of `manifests` with its objects in the order the API source lists
// them (by kind, then namespace/name): the translator orders some output (virtual hosts) by
// input order, and the API server has no file order.
std::string renderFromFolderInApiOrder(const std::string& manifests, const std::string& ns,
                                       const std::string& pod) {
  std::vector<ManifestError> errors;
  std::vector<Object> objects = loadManifests(manifests, errors);
  auto rank = [](const Object& o) {
    const auto& kinds = kubernetes::meshResourceKinds();
    std::string kind = o.kind == "Endpoints" ? "EndpointSlice" : o.kind;
    for (size_t i = 0; i < kinds.size(); ++i) {
      if (kinds[i].kind == kind) return i;
    }
    return kinds.size();
  };
  // Sorted by index, the objects then copied.
  std::vector<size_t> order(objects.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    const Object& x = objects[a];
    const Object& y = objects[b];
    return std::make_tuple(rank(x), x.ns, x.name) < std::make_tuple(rank(y), y.ns, y.name);
  });
  std::vector<Object> sorted;
  for (size_t i : order) sorted.push_back(objects[i]);
  Translator translator(std::move(sorted), TranslateOptions{});
  return testing::renderGolden(errors, translator, ns, pod);
}

// Where the golden's output does not depend on the order of objects, the API source's
// translation is the golden itself.
TEST_F(KubernetesConfigSourceTest, MeshExampleTranslatesAsTheFolderGolden) {
  expectSameAsGolden(renderFromApi("docs/examples/mesh", "default", ""),
                     "test/pilot/testdata/mesh_example_default.txt");
}

TEST_F(KubernetesConfigSourceTest, SidecarCaseTranslatesAsTheFolderGolden) {
  expectSameAsGolden(renderFromApi("test/pilot/testdata/sidecar", "default", "reviews-1"),
                     "test/pilot/testdata/sidecar/expected_reviews.txt");
}

// Where it does (virtual hosts in input order), as the folder in the API's order.
TEST_F(KubernetesConfigSourceTest, AuthorizationCaseTranslatesAsTheFolder) {
  const std::string dir = "test/pilot/testdata/authz";
  EXPECT_EQ(withoutSources(renderFromApi(dir, "default", "reviews-1")),
            withoutSources(renderFromFolderInApiOrder(dir, "default", "reviews-1")));
}

TEST_F(KubernetesConfigSourceTest, MutualTlsCaseTranslatesAsTheFolder) {
  const std::string dir = "test/pilot/testdata/mtls";
  EXPECT_EQ(withoutSources(renderFromApi(dir, "shop", "payments-1")),
            withoutSources(renderFromFolderInApiOrder(dir, "shop", "payments-1")));
}

// The JSON of one resource of `resources` (empty when there is none).
std::string resourceJson(const std::map<std::string, google::protobuf::Any>& resources,
                         const std::string& name) {
  auto found = resources.find(name);
  std::string json;
  if (found != resources.end()) {
    (void)google::protobuf::util::MessageToJsonString(found->second, &json);
  }
  return json;
}

// Several EndpointSlices of one service add up; a slice's named ports give each service port's
// target; conditions.ready false is an unhealthy endpoint, absent is ready.
TEST_F(KubernetesConfigSourceTest, EndpointSlicesOfAServiceAreJoinedByTheServiceNameLabel) {
  testing::ApiCollections collections;
  collections["/api/v1/services"] = {
      R"({"metadata":{"name":"cart","namespace":"shop"},"spec":{"clusterIP":"10.96.5.5",)"
      R"("ports":[{"name":"http","port":80,"targetPort":"web"},)"
      R"({"name":"grpc","port":9090,"targetPort":9091}]}})"};
  const std::string ports =
      R"("ports":[{"name":"http","port":8080,"protocol":"TCP"},{"name":"grpc","port":9091}])";
  collections["/apis/discovery.k8s.io/v1/endpointslices"] = {
      R"({"metadata":{"name":"cart-a1","namespace":"shop",)"
      R"("labels":{"kubernetes.io/service-name":"cart"}},"addressType":"IPv4",)" +
          ports +
          R"(,"endpoints":[{"addresses":["10.1.0.1"],"conditions":{"ready":true},)"
          R"("targetRef":{"kind":"Pod","name":"cart-1","namespace":"shop"}}]})",
      R"({"metadata":{"name":"cart-b2","namespace":"shop",)"
      R"("labels":{"kubernetes.io/service-name":"cart"}},"addressType":"IPv4",)" +
          ports +
          R"(,"endpoints":[{"addresses":["10.1.0.2"],"conditions":{"ready":false,"serving":null}},)"
          R"({"addresses":["10.1.0.3"]}]})",
      // Another service's slice in the same namespace stays out.
      R"({"metadata":{"name":"other-c3","namespace":"shop",)"
      R"("labels":{"kubernetes.io/service-name":"other"}},"addressType":"IPv4",)" +
          ports + R"(,"endpoints":[{"addresses":["10.1.0.9"]}]})"};
  testing::serveCollections(*server_, collections);
  start();
  ASSERT_TRUE(waitSynced());
  Translator translator(source_->snapshot().objects, TranslateOptions{});
  for (const auto& error : translator.errors()) ADD_FAILURE() << error.message;
  Resources resources = translator.translate("shop", "");

  std::string http = resourceJson(resources.endpoints, "outbound|80||cart.shop.svc.cluster.local");
  EXPECT_NE(http.find(R"("address":"10.1.0.1","portValue":8080)"), std::string::npos) << http;
  EXPECT_NE(http.find(R"("address":"10.1.0.2","portValue":8080)"), std::string::npos) << http;
  EXPECT_NE(http.find(R"("address":"10.1.0.3","portValue":8080)"), std::string::npos) << http;
  EXPECT_EQ(http.find("10.1.0.9"), std::string::npos) << http;
  // Only 10.1.0.2 is not ready.
  size_t unhealthy = http.find("UNHEALTHY");
  ASSERT_NE(unhealthy, std::string::npos) << http;
  EXPECT_EQ(http.find("UNHEALTHY", unhealthy + 1), std::string::npos) << http;
  EXPECT_LT(http.find("10.1.0.1"), http.find("10.1.0.2"));  // slices in name order
  EXPECT_GT(unhealthy, http.find("10.1.0.1"));
  EXPECT_LT(unhealthy, http.find("10.1.0.3"));

  std::string grpc =
      resourceJson(resources.endpoints, "outbound|9090||cart.shop.svc.cluster.local");
  EXPECT_NE(grpc.find(R"("address":"10.1.0.1","portValue":9091)"), std::string::npos) << grpc;
}

TEST_F(KubernetesConfigSourceTest, ObjectsSayWhereTheyCameFrom) {
  auto json = kubernetes::JsonValue::parse(
      R"({"metadata":{"name":"reviews","namespace":"shop","labels":{"app":"reviews"},)"
      R"("deletionTimestamp":null},"spec":{"ports":[{"port":9080,"name":"http"}]}})");
  ASSERT_TRUE(json.ok());
  Object object = objectFromApi({"Service", "", {"v1"}, "services"}, "v1", *json);
  EXPECT_EQ(object.file, "kubernetes:Service/shop/reviews");
  EXPECT_EQ(object.kind, "Service");
  EXPECT_EQ(object.ns, "shop");
  EXPECT_EQ(object.name, "reviews");
  EXPECT_EQ(object.view()["kind"].str(), "Service");
  EXPECT_EQ(object.view()["apiVersion"].str(), "v1");
  EXPECT_EQ(object.view()["spec"]["ports"][0]["port"].as<int>(), 9080);
  EXPECT_FALSE(object.view()["metadata"]["deletionTimestamp"].isNull());  // null is left out
  EXPECT_EQ(object.view()["metadata"].size(), 3u);
  EXPECT_EQ(object.revision, "");  // no resourceVersion

  auto ns = kubernetes::JsonValue::parse(R"({"metadata":{"name":"shop"}})");
  ASSERT_TRUE(ns.ok());
  Object namespace_object = objectFromApi({"Namespace", "", {"v1"}, "namespaces"}, "v1", *ns);
  EXPECT_EQ(namespace_object.file, "kubernetes:Namespace/shop");
}

TEST_F(KubernetesConfigSourceTest, NotSyncedUntilEveryKindIsListedThenWatchEventsShow) {
  testing::ApiCollections collections;
  collections["/api/v1/services"] = {
      testing::yamlToJson(YAML::Load("metadata: {name: ratings, namespace: default}\n"
                                     "spec: {ports: [{name: http, port: 9080}]}"))};
  // Every kind but VirtualService answers; VirtualService's list fails for now.
  testing::serveCollections(*server_, collections);
  server_->setListStatus("/apis/networking.istio.io/v1/virtualservices", 500);
  start();
  ASSERT_TRUE(server_->waitForRequests(
      [](const k8s::RecordedRequest& r) {
        return r.path == "/apis/networking.istio.io/v1/virtualservices";
      },
      2));
  EXPECT_FALSE(source_->synced());

  server_->setListStatus("/apis/networking.istio.io/v1/virtualservices", 0);
  ASSERT_TRUE(waitSynced());
  SourceSnapshot snapshot = source_->snapshot();
  ASSERT_EQ(snapshot.objects.size(), 1u);
  EXPECT_EQ(snapshot.objects[0].where(),
            "kubernetes:Service/default/ratings: Service default/ratings");
  // Nothing is converted per snapshot: the same kept document every time.
  const CompactDocument* ratings = snapshot.objects[0].document.get();
  EXPECT_EQ(source_->snapshot().objects[0].document.get(), ratings);

  server_->queueWatch("/api/v1/services", [](k8s::ResponseWriter& w) {
    w.startChunked(200);
    w.chunk(k8s::watchEvent("ADDED", k8s::objectJson("Service", "default", "reviews", "101")));
    w.holdOpen();
  });
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (source_->snapshot().objects.size() < 2 && std::chrono::steady_clock::now() < deadline) {
    source_->waitForChange(std::chrono::milliseconds(50));
  }
  snapshot = source_->snapshot();
  ASSERT_EQ(snapshot.objects.size(), 2u);
  EXPECT_EQ(snapshot.objects[1].name, "reviews");
  EXPECT_EQ(snapshot.objects[1].view()["apiVersion"].str(), "v1");
  EXPECT_EQ(snapshot.objects[1].revision, "101");
  // An object that did not change is still the same document.
  EXPECT_EQ(snapshot.objects[0].document.get(), ratings);
}

}  // namespace
}  // namespace remora::pilot
