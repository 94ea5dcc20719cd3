#include "source/common/router/route_table.h"

#include <yaml-cpp/yaml.h>

#include "gtest/gtest.h"
#include "source/common/config/message_loader.h"

namespace remora::router {
namespace {

using config::route::v1::RouteConfiguration;

std::shared_ptr<const RouteTable> build(const std::string& yaml, config::Errors& errors) {
  RouteConfiguration proto;
  EXPECT_TRUE(config::parseMessage(yaml, proto, errors)) << errors.joined();
  return RouteTable::create(
      proto, "route_config",
      [](std::string_view c) { return c == "backend" || c == "backend_v2" || c == "c"; }, errors);
}

http::HeaderMap request(std::string_view method, std::string_view path,
                        std::string_view authority = "example.com") {
  http::HeaderMap h;
  h.add(":method", method);
  h.add(":path", path);
  h.add(":authority", authority);
  h.add(":scheme", "http");
  return h;
}

// The routes of the shipped docs/examples/http_proxy.yaml, read from the file itself.
class ExampleRoutesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // Just the route_config of the HTTP connection manager, as YAML, straight from the file.
    YAML::Node root = YAML::LoadFile("docs/examples/http_proxy.yaml");
    YAML::Node routes = root["static_resources"]["listeners"][0]["filter_chains"][0]["filters"][0]
                            ["typed_config"]["route_config"];
    ASSERT_TRUE(routes.IsMap());
    YAML::Emitter text;
    text << routes;
    RouteConfiguration proto;
    ASSERT_TRUE(config::parseMessage(text.c_str(), proto, errors_)) << errors_.joined();
    table_ = RouteTable::create(
        proto, "route_config",
        [](std::string_view c) { return c == "backend" || c == "backend_v2"; }, errors_);
    ASSERT_NE(table_, nullptr) << errors_.joined();
  }
  const RouteEntry* match(const http::HeaderMap& h) { return table_->match(h); }
  config::Errors errors_;
  std::shared_ptr<const RouteTable> table_;
};

TEST_F(ExampleRoutesTest, HealthIsADirectResponseForGetOnly) {
  auto* route = match(request("GET", "/health"));
  ASSERT_NE(route, nullptr);
  EXPECT_EQ(route->kind(), RouteEntry::Kind::kDirectResponse);
  EXPECT_EQ(route->directStatus(), 200u);
  EXPECT_EQ(route->directBody(), "ok");
  EXPECT_EQ(match(request("POST", "/health"))->name(), "default");
}

TEST_F(ExampleRoutesTest, OldRedirectsToNew) {
  auto h = request("GET", "/old?x=1");
  auto* route = match(h);
  ASSERT_EQ(route->kind(), RouteEntry::Kind::kRedirect);
  EXPECT_EQ(route->redirectStatus(), 301u);
  EXPECT_EQ(route->redirectLocation(h), "http://example.com/new?x=1");
}

TEST_F(ExampleRoutesTest, HeaderAndRegexSelectV2) {
  auto h = request("GET", "/anything");
  h.add("x-version", "v2");
  EXPECT_EQ(match(h)->pickCluster(0), "backend_v2");
  EXPECT_EQ(match(request("GET", "/items/42"))->pickCluster(0), "backend_v2");
  EXPECT_EQ(match(request("GET", "/items/42?q=1"))->pickCluster(0), "backend_v2");
  EXPECT_EQ(match(request("GET", "/items/abc"))->name(), "default");
}

TEST_F(ExampleRoutesTest, SplitIsNinetyTen) {
  auto* route = match(request("GET", "/split/x"));
  int v2 = 0;
  for (uint64_t r = 0; r < 100; ++r) v2 += route->pickCluster(r) == "backend_v2";
  EXPECT_EQ(v2, 10);
}

TEST_F(ExampleRoutesTest, ApiPrefixIsRewritten) {
  auto h = request("GET", "/api/users/7?full=1");
  auto* route = match(h);
  EXPECT_EQ(route->name(), "api");
  route->applyRequestTransforms(h);
  EXPECT_EQ(h.path(), "/users/7?full=1");
  EXPECT_EQ(match(request("GET", "/elsewhere"))->pickCluster(0), "backend");
}

TEST(RouteTableTest, DomainsChooseVirtualHostsInPrecedenceOrder) {
  config::Errors errors;
  auto table = build(R"(
virtual_hosts:
- {name: exact, domains: [example.com], routes: [{name: exact, match: {prefix: /}, route: {cluster: c}}]}
- {name: port, domains: ["example.com:8080"], routes: [{name: port, match: {prefix: /}, route: {cluster: c}}]}
- {name: suffix, domains: ["*.example.com"], routes: [{name: suffix, match: {prefix: /}, route: {cluster: c}}]}
- {name: longsuffix, domains: ["*.api.example.com"], routes: [{name: longsuffix, match: {prefix: /}, route: {cluster: c}}]}
- {name: prefix, domains: ["example.*"], routes: [{name: prefix, match: {prefix: /}, route: {cluster: c}}]}
- {name: any, domains: ["*"], routes: [{name: any, match: {prefix: /}, route: {cluster: c}}]}
)",
                     errors);
  ASSERT_NE(table, nullptr) << errors.joined();
  auto pick = [&](const char* host) { return table->match(request("GET", "/", host))->name(); };
  EXPECT_EQ(pick("example.com"), "exact");
  EXPECT_EQ(pick("EXAMPLE.com:9999"), "exact");
  EXPECT_EQ(pick("example.com:8080"), "port");
  EXPECT_EQ(pick("a.example.com"), "suffix");
  EXPECT_EQ(pick("v1.api.example.com"), "longsuffix");
  EXPECT_EQ(pick("example.org"), "prefix");
  EXPECT_EQ(pick("other.net"), "any");
}

TEST(RouteTableTest, MatchersOfEveryKind) {
  config::Errors errors;
  auto table = build(R"(
virtual_hosts:
- name: v
  domains: ["*"]
  routes:
  - name: ci
    match: {prefix: /CaSe, case_sensitive: false}
    route: {cluster: c}
  - name: headers
    match:
      prefix: /h
      headers:
      - {name: x-a, prefix_match: pre}
      - {name: x-b, suffix_match: suf}
      - {name: x-c, safe_regex_match: "[0-9]+"}
      - {name: x-d, present_match: false}
      - {name: x-e, exact_match: "no", invert_match: true}
    route: {cluster: c}
  - name: query
    match:
      path: /q
      query_parameters: [{name: a, exact_match: "1"}, {name: b, present_match: true}]
    route: {cluster: c}
)",
                     errors);
  ASSERT_NE(table, nullptr) << errors.joined();
  EXPECT_EQ(table->match(request("GET", "/case/x"))->name(), "ci");
  auto h = request("GET", "/h");
  h.add("x-a", "prefix");
  h.add("x-b", "the-suf");
  h.add("x-c", "123");
  EXPECT_EQ(table->match(h)->name(), "headers");
  h.add("x-e", "no");
  EXPECT_EQ(table->match(h), nullptr);
  EXPECT_EQ(table->match(request("GET", "/q?b&a=1"))->name(), "query");
  EXPECT_EQ(table->match(request("GET", "/q?a=2&b")), nullptr);
  EXPECT_EQ(table->match(request("GET", "/q?a=1")), nullptr);
}

TEST(RouteTableTest, RewritesAndHeaderOperations) {
  config::Errors errors;
  auto table = build(R"(
request_headers_to_add: [{header: {key: x-config, value: "1"}}]
virtual_hosts:
- name: v
  domains: ["*"]
  response_headers_to_remove: [server]
  routes:
  - name: r
    match: {prefix: /v1/}
    route:
      cluster: c
      regex_rewrite: {pattern: "^/v1/(.*)$", substitution: "/v2/\\1"}
      host_rewrite_literal: upstream.local
      timeout: 2s
    request_headers_to_add:
    - {header: {key: x-route, value: a}}
    - {header: {key: x-route, value: b}, append: true}
    request_headers_to_remove: [x-drop]
    response_headers_to_add: [{header: {key: x-served-by, value: remora}}]
)",
                     errors);
  ASSERT_NE(table, nullptr) << errors.joined();
  auto h = request("GET", "/v1/items?z=1");
  h.add("x-drop", "1");
  const auto* route = table->match(h);
  EXPECT_EQ(route->timeout(), std::chrono::seconds(2));
  route->applyRequestTransforms(h);
  EXPECT_EQ(h.path(), "/v2/items?z=1");
  EXPECT_EQ(h.authority(), "upstream.local");
  EXPECT_FALSE(h.has("x-drop"));
  EXPECT_EQ(h.getOr("x-config", ""), "1");
  std::vector<std::string> values;
  for (const auto& [name, value] : h.entries()) {
    if (name == "x-route") values.emplace_back(value);
  }
  EXPECT_EQ(values, (std::vector<std::string>{"a", "b"}));
  http::HeaderMap response;
  response.add(":status", "200");
  response.add("server", "nginx");
  route->applyResponseTransforms(response);
  EXPECT_FALSE(response.has("server"));
  EXPECT_EQ(response.getOr("x-served-by", ""), "remora");
}

TEST(RouteTableTest, RedirectVariants) {
  config::Errors errors;
  auto table = build(R"(
virtual_hosts:
- name: v
  domains: ["*"]
  routes:
  - name: r
    match: {prefix: /docs/}
    redirect: {scheme_redirect: https, host_redirect: docs.example.com, port_redirect: 8443,
               prefix_rewrite: /v2/, response_code: PERMANENT_REDIRECT, strip_query: true}
)",
                     errors);
  ASSERT_NE(table, nullptr) << errors.joined();
  auto h = request("GET", "/docs/a/b?x=1", "example.com:80");
  const auto* route = table->match(h);
  EXPECT_EQ(route->redirectStatus(), 308u);
  EXPECT_EQ(route->redirectLocation(h), "https://docs.example.com:8443/v2/a/b");
}

TEST(RouteTableTest, ValidationErrorsNameTheField) {
  config::Errors errors;
  EXPECT_EQ(build(R"(
virtual_hosts:
- name: v
  domains: ["*", "a*b"]
  routes:
  - {match: {safe_regex: "(unclosed"}, route: {cluster: c}}
  - {match: {path: /x}, route: {cluster: missing, prefix_rewrite: /y}}
  - {match: {prefix: /}, direct_response: {status: 99}}
  - {match: {prefix: /}, route: {weighted_clusters: {clusters: [{name: c, weight: 0}]}}}
  - {match: {}, route: {cluster: c}}
- name: v
  domains: ["*"]
)",
                  errors),
            nullptr);
  EXPECT_EQ(
      errors.lines(),
      (std::vector<std::string>{
          "route_config.virtual_hosts[0].domains[1]: \"a*b\" is not a domain: use a name, "
          "*.suffix, prefix.* or *",
          "route_config.virtual_hosts[0].routes[0].match.safe_regex: invalid regex: missing "
          "): (unclosed",
          "route_config.virtual_hosts[0].routes[1].route.prefix_rewrite: needs a prefix match",
          // Reported although the route has another error: every error is listed.
          "route_config.virtual_hosts[0].routes[1].route.cluster: unknown cluster \"missing\"",
          "route_config.virtual_hosts[0].routes[2].direct_response.status: must be between "
          "200 and 599",
          "route_config.virtual_hosts[0].routes[3].route.weighted_clusters: the weights "
          "must add up to more than 0",
          "route_config.virtual_hosts[0].routes[4].match: one of prefix, path or "
          "safe_regex is required",
          "route_config.virtual_hosts[1].name: \"v\" is used by another virtual host",
          "route_config.virtual_hosts[1].domains[0]: \"*\" is already used by another "
          "virtual host"}));
}

TEST(RouteTableTest, UnknownClusterIsAnError) {
  config::Errors errors;
  EXPECT_EQ(build("virtual_hosts: [{name: v, domains: ['*'], routes: [{match: {prefix: /}, "
                  "route: {cluster: nope}}]}]",
                  errors),
            nullptr);
  EXPECT_EQ(errors.joined(),
            "route_config.virtual_hosts[0].routes[0].route.cluster: unknown cluster \"nope\"\n");
}

TEST(RouteTableTest, ResilienceSettingsAreParsedAndChecked) {
  config::Errors errors;
  auto table = build(R"(
virtual_hosts:
- name: v
  domains: ['*']
  rate_limit: {max_tokens: 10, fill_interval: 1s}
  routes:
  - match: {prefix: /m}
    route:
      cluster: c
      request_mirror_policies: [{cluster: backend, percentage: 25}, {cluster: backend_v2}]
      hash_policy: [{header: {header_name: X-User}, terminal: true}, {connection_properties: {source_ip: true}}]
    fault: {delay: {fixed_delay: 0.2s, percentage: 50}, abort: {grpc_status: 14, percentage: 1.5}}
  - match: {prefix: /}
    route: {cluster: c}
    rate_limit: {max_tokens: 2, tokens_per_fill: 1, fill_interval: 0.5s}
)",
                     errors);
  ASSERT_NE(table, nullptr) << errors.joined();
  const RouteEntry* m = table->match(request("GET", "/m"));
  ASSERT_NE(m, nullptr);
  ASSERT_EQ(m->mirrorPolicies().size(), 2u);
  EXPECT_EQ(m->mirrorPolicies()[0].cluster, "backend");
  EXPECT_EQ(m->mirrorPolicies()[0].per_million, 250000u);
  EXPECT_EQ(m->mirrorPolicies()[1].per_million, 1000000u);
  ASSERT_EQ(m->hashPolicies().size(), 2u);
  EXPECT_EQ(m->hashPolicies()[0].name, "x-user");
  EXPECT_TRUE(m->hashPolicies()[0].terminal);
  ASSERT_NE(m->fault(), nullptr);
  EXPECT_EQ(m->fault()->delay, std::chrono::milliseconds(200));
  EXPECT_EQ(m->fault()->delay_per_million, 500000u);
  EXPECT_EQ(m->fault()->abort_grpc_status, 14u);
  EXPECT_EQ(m->fault()->abort_per_million, 15000u);
  // The route without its own bucket uses the virtual host's; the other has its own.
  ASSERT_NE(m->rateLimit(), nullptr);
  EXPECT_EQ(m->rateLimit()->maxTokens(), 10u);
  const RouteEntry* other = table->match(request("GET", "/x"));
  EXPECT_EQ(other->rateLimit()->maxTokens(), 2u);

  config::Errors bad;
  EXPECT_EQ(build(R"(
virtual_hosts:
- name: v
  domains: ['*']
  routes:
  - match: {prefix: /}
    route: {cluster: c, request_mirror_policies: [{cluster: nope, percentage: 120}]}
    fault: {abort: {http_status: 99, percentage: 10}}
    rate_limit: {max_tokens: 0}
)",
                  bad),
            nullptr);
  EXPECT_EQ(bad.lines(),
            (std::vector<std::string>{
                "route_config.virtual_hosts[0].routes[0].route.request_mirror_policies[0]."
                "percentage: must be 0-100",
                "route_config.virtual_hosts[0].routes[0].fault.abort.http_status: must be between "
                "200 and 599",
                "route_config.virtual_hosts[0].routes[0].rate_limit.max_tokens: must be positive",
                "route_config.virtual_hosts[0].routes[0].rate_limit.fill_interval: must be at "
                "least 1ms",
                "route_config.virtual_hosts[0].routes[0].route.request_mirror_policies[0].cluster: "
                "unknown cluster \"nope\""}));
}

}  // namespace
}  // namespace remora::router
