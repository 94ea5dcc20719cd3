// RouteConfiguration.host_search_suffixes: short hosts ("reviews", "reviews.default:9080")
// expanded with the search suffixes as a pod's resolver would, after exact domains and before
// wildcards; "%NAMESPACE%" taken from the proxy's node; invalid suffixes named by field path.

#include "source/common/router/host_search_suffixes.h"

#include "gtest/gtest.h"
#include "source/common/config/message_loader.h"
#include "source/common/router/route_table.h"

namespace remora::router {
namespace {

using config::route::v1::RouteConfiguration;

// A mesh-wide table: every service by its full name only, with or without its port; plus
// names that only a wrong expansion could reach ("never").
constexpr const char* kMeshRoutes = R"(
host_search_suffixes: ["%NAMESPACE%.svc.cluster.local", "svc.cluster.local", "cluster.local"]
virtual_hosts:
- name: reviews_default
  domains: ["reviews.default.svc.cluster.local", "reviews.default.svc.cluster.local:9080"]
  routes: [{name: reviews_default, match: {prefix: /}, route: {cluster: c}}]
- name: reviews_other
  domains: ["reviews.other.svc.cluster.local"]
  routes: [{name: reviews_other, match: {prefix: /}, route: {cluster: c}}]
- name: ratings_8080_only
  domains: ["ratings.default.svc.cluster.local:8080"]
  routes: [{name: ratings_8080_only, match: {prefix: /}, route: {cluster: c}}]
- name: details_default
  domains: ["details.default.svc.cluster.local"]
  routes: [{name: details_default, match: {prefix: /}, route: {cluster: c}}]
- name: details_literal
  domains: ["details"]
  routes: [{name: details_literal, match: {prefix: /}, route: {cluster: c}}]
- name: never
  domains: ["x.cluster.local.default.svc.cluster.local", "10.0.0.1.default.svc.cluster.local",
            "[::1].default.svc.cluster.local", "10.0.0.1.cluster.local"]
  routes: [{name: never, match: {prefix: /}, route: {cluster: c}}]
- name: wildcard
  domains: ["*.local", "reviews.*", "10.0.0.*"]
  routes: [{name: wildcard, match: {prefix: /}, route: {cluster: c}}]
- name: fallback
  domains: ["*"]
  routes: [{name: fallback, match: {prefix: /}, route: {cluster: c}}]
)";

std::shared_ptr<const RouteTable> build(const std::string& yaml, std::string_view node_namespace,
                                        config::Errors& errors) {
  RouteConfiguration proto;
  EXPECT_TRUE(config::parseMessage(yaml, proto, errors)) << errors.joined();
  return RouteTable::create(
      proto, "route_config", [](std::string_view) { return true; }, errors, node_namespace);
}

class MeshRoutesTest : public ::testing::Test {
 protected:
  // The name of the route chosen for `authority`, or "" for none.
  std::string routeFor(std::string_view authority, std::string_view node_namespace = "default") {
    config::Errors errors;
    auto table = build(kMeshRoutes, node_namespace, errors);
    EXPECT_NE(table, nullptr) << errors.joined();
    if (table == nullptr) return "";
    http::HeaderMap request;
    request.add(":method", "GET");
    request.add(":path", "/");
    request.add(":authority", authority);
    const RouteEntry* route = table->match(request);
    return route == nullptr ? "" : route->name();
  }
};

TEST_F(MeshRoutesTest, ShortNameIsSearchedInTheProxysNamespace) {
  EXPECT_EQ(routeFor("reviews"), "reviews_default");
  EXPECT_EQ(routeFor("Reviews"), "reviews_default");
  EXPECT_EQ(routeFor("reviews:9080"), "reviews_default");
  EXPECT_EQ(routeFor("reviews:9081"), "reviews_default");  // the bare name, as exact domains do
  EXPECT_EQ(routeFor("ratings:8080"), "ratings_8080_only");
  EXPECT_EQ(routeFor("ratings"), "fallback");  // only "...:8080" is a domain of ratings
  EXPECT_EQ(routeFor("ratings:9090"), "fallback");
}

TEST_F(MeshRoutesTest, NameDotNamespaceWithAndWithoutPort) {
  EXPECT_EQ(routeFor("reviews.default"), "reviews_default");
  EXPECT_EQ(routeFor("REVIEWS.Default:9080"), "reviews_default");
  EXPECT_EQ(routeFor("reviews.other"), "reviews_other");
  EXPECT_EQ(routeFor("reviews.other:9080"), "reviews_other");
  EXPECT_EQ(routeFor("reviews.default.svc"), "reviews_default");
  EXPECT_EQ(routeFor("reviews.default.svc:9080"), "reviews_default");
}

TEST_F(MeshRoutesTest, ExactDomainsComeFirst) {
  EXPECT_EQ(routeFor("details"), "details_literal");
  EXPECT_EQ(routeFor("details:80"), "details_literal");
  EXPECT_EQ(routeFor("details.default"), "details_default");
  EXPECT_EQ(routeFor("reviews.default.svc.cluster.local:9080"), "reviews_default");
}

TEST_F(MeshRoutesTest, SearchComesBeforeWildcardsAndStar) {
  // "reviews.*" would take these without the search.
  EXPECT_EQ(routeFor("reviews.other"), "reviews_other");
  EXPECT_EQ(routeFor("reviews.default:9080"), "reviews_default");
  // Misses fall through to the wildcards, then "*", as before.
  EXPECT_EQ(routeFor("reviews.nowhere"), "wildcard");
  EXPECT_EQ(routeFor("unknown.svc.cluster.local"), "wildcard");
  EXPECT_EQ(routeFor("nothing"), "fallback");
  EXPECT_EQ(routeFor("nothing:80"), "fallback");
}

TEST_F(MeshRoutesTest, NamesEndingWithASuffixAreNotExpanded) {
  EXPECT_EQ(routeFor("x.cluster.local"), "wildcard");
  EXPECT_EQ(routeFor("x.cluster.local:80"), "wildcard");
}

TEST_F(MeshRoutesTest, IpAddressesAreNotExpanded) {
  EXPECT_EQ(routeFor("10.0.0.1"), "wildcard");
  EXPECT_EQ(routeFor("10.0.0.1:80"), "wildcard");
  EXPECT_EQ(routeFor("[::1]"), "fallback");
  EXPECT_EQ(routeFor("[::1]:80"), "fallback");
}

TEST_F(MeshRoutesTest, NamespaceIsTheProxys) {
  EXPECT_EQ(routeFor("reviews", "other"), "reviews_other");
  EXPECT_EQ(routeFor("reviews:9080", "other"), "reviews_other");
  EXPECT_EQ(routeFor("reviews.default", "other"), "reviews_default");
  EXPECT_EQ(routeFor("ratings:8080", "other"), "fallback");
  config::Errors errors;
  RouteConfiguration proto;
  proto.add_host_search_suffixes("%NAMESPACE%.svc.cluster.local");
  proto.add_host_search_suffixes("svc.cluster.local");
  auto suffixes = HostSearchSuffixes::create(proto.host_search_suffixes(),
                                             "route_config.host_search_suffixes", "Prod", errors);
  EXPECT_TRUE(errors.empty()) << errors.joined();
  EXPECT_EQ(suffixes.suffixes(),
            (std::vector<std::string>{"prod.svc.cluster.local", "svc.cluster.local"}));
  // The same suffix twice once the namespace is known: searched once.
  proto.add_host_search_suffixes("prod.svc.cluster.local");
  suffixes = HostSearchSuffixes::create(proto.host_search_suffixes(),
                                        "route_config.host_search_suffixes", "prod", errors);
  EXPECT_TRUE(errors.empty()) << errors.joined();
  EXPECT_EQ(suffixes.suffixes(),
            (std::vector<std::string>{"prod.svc.cluster.local", "svc.cluster.local"}));
}

TEST_F(MeshRoutesTest, WithoutANamespaceItsSuffixesAreDropped) {
  config::Errors errors;
  RouteConfiguration proto;
  proto.add_host_search_suffixes("%NAMESPACE%.svc.cluster.local");
  proto.add_host_search_suffixes("Svc.Cluster.Local");
  auto suffixes = HostSearchSuffixes::create(proto.host_search_suffixes(),
                                             "route_config.host_search_suffixes", "", errors);
  EXPECT_TRUE(errors.empty()) << errors.joined();
  EXPECT_EQ(suffixes.suffixes(), (std::vector<std::string>{"svc.cluster.local"}));
  // "reviews.default" still works through "svc.cluster.local"; a short name cannot.
  EXPECT_EQ(routeFor("reviews.default", ""), "reviews_default");
  EXPECT_EQ(routeFor("reviews", ""), "fallback");
  EXPECT_EQ(routeFor("ratings:8080", ""), "fallback");
}

TEST(HostSearchSuffixesTest, ExpansionCandidatesInOrder) {
  config::Errors errors;
  RouteConfiguration proto;
  proto.add_host_search_suffixes("%NAMESPACE%.svc.cluster.local");
  proto.add_host_search_suffixes("cluster.local");
  auto suffixes = HostSearchSuffixes::create(proto.host_search_suffixes(), "s", "ns", errors);
  std::vector<std::string> tried;
  const int* none = nullptr;
  auto record = [&](std::string_view candidate) {
    tried.emplace_back(candidate);
    return none;
  };
  suffixes.expand("Web", ":80", record);
  EXPECT_EQ(tried,
            (std::vector<std::string>{"web.ns.svc.cluster.local:80", "web.ns.svc.cluster.local",
                                      "web.cluster.local:80", "web.cluster.local"}));
  tried.clear();
  suffixes.expand("web", "", record);
  EXPECT_EQ(tried, (std::vector<std::string>{"web.ns.svc.cluster.local", "web.cluster.local"}));
  tried.clear();
  suffixes.expand(std::string(300, 'a'), "", record);
  suffixes.expand("web", ":1234567", record);
  suffixes.expand("", ":80", record);
  suffixes.expand("a.b.cluster.local", "", record);
  suffixes.expand("cluster.local", "", record);
  suffixes.expand("web.", "", record);
  suffixes.expand("10.1.2.3", ":80", record);
  suffixes.expand("[::1]", ":80", record);
  EXPECT_TRUE(tried.empty());
}

TEST(HostSearchSuffixesTest, InvalidSuffixesAreNamedByFieldPath) {
  config::Errors errors;
  auto table = build(R"(
host_search_suffixes: ["", ".svc.cluster.local", "cluster.local.", "*.local", "local:80",
                       "a..b", "a_b", "-a.b", "ok.local", "ok.local", "%NAMESPACE%_x.local"]
virtual_hosts: [{name: all, domains: ["*"]}]
)",
                     "default", errors);
  EXPECT_EQ(table, nullptr);
  std::string text = errors.joined();
  for (const char* expected : {
           "route_config.host_search_suffixes[0]: \"\" must not be empty",
           "route_config.host_search_suffixes[1]: \".svc.cluster.local\" must not start or end "
           "with a dot",
           "route_config.host_search_suffixes[2]: \"cluster.local.\" must not start or end",
           "route_config.host_search_suffixes[3]: \"*.local\" must not hold a wildcard",
           "route_config.host_search_suffixes[4]: \"local:80\" must not carry a port",
           "route_config.host_search_suffixes[5]: \"a..b\" has an empty label",
           "route_config.host_search_suffixes[6]: \"a_b\" has a character a DNS name cannot hold",
           "route_config.host_search_suffixes[7]: \"-a.b\" has a label that starts or ends",
           "route_config.host_search_suffixes[9]: \"ok.local\" is listed twice",
           "route_config.host_search_suffixes[10]: \"%NAMESPACE%_x.local\" has a character",
       }) {
    EXPECT_NE(text.find(expected), std::string::npos) << expected << "\nin:\n" << text;
  }
  EXPECT_EQ(text.find("host_search_suffixes[8]"), std::string::npos) << text;
}

TEST(HostSearchSuffixesTest, ANamespaceThatIsNoDnsLabelIsAnError) {
  config::Errors errors;
  auto table = build(R"(
host_search_suffixes: ["svc.local", "%NAMESPACE%.svc.local"]
virtual_hosts: [{name: all, domains: ["*"]}]
)",
                     "bad_ns", errors);
  EXPECT_EQ(table, nullptr);
  EXPECT_NE(errors.joined().find("route_config.host_search_suffixes[1]: \"%NAMESPACE%.svc.local\" "
                                 "with the node namespace \"bad_ns\" gives \"bad_ns.svc.local\""),
            std::string::npos)
      << errors.joined();
}

}  // namespace
}  // namespace remora::router
