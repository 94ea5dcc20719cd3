// Operation fields (what the request does): hosts, ports, methods, paths and their not_*
// forms, each through a one-rule ALLOW policy.

#include "test/common/rbac/rbac_test_util.h"

namespace remora::rbac {
namespace {

using testing::allowed;
using testing::allowRule;
using testing::Request;

bool host(const std::string& rule, const char* host) {
  Request r;
  r.http("GET", "/", host);
  return allowed(*allowRule(rule), r);
}

bool method(const std::string& rule, const char* method) {
  Request r;
  r.http(method, "/");
  return allowed(*allowRule(rule), r);
}

bool path(const std::string& rule, const char* path) {
  Request r;
  r.http("GET", path);
  return allowed(*allowRule(rule), r);
}

TEST(OperationTest, HostsExactWithOrWithoutPortAndAnyCase) {
  const std::string rule = "to { hosts: 'reviews.default.svc.cluster.local' }";
  EXPECT_TRUE(host(rule, "reviews.default.svc.cluster.local"));
  EXPECT_TRUE(host(rule, "reviews.default.svc.cluster.local:9080"));
  EXPECT_TRUE(host(rule, "Reviews.Default.SVC.cluster.local"));
  EXPECT_TRUE(host(rule, "REVIEWS.DEFAULT.SVC.CLUSTER.LOCAL:9080"));
  EXPECT_FALSE(host(rule, "ratings.default.svc.cluster.local"));
  EXPECT_FALSE(host(rule, "reviews.default.svc.cluster.local.evil"));
  EXPECT_FALSE(host(rule, "reviews.default.svc.cluster.local:"));
  EXPECT_TRUE(host("to { hosts: 'Example.COM' }", "example.com"));
}

TEST(OperationTest, HostsWithPortMatchOnlyThatPort) {
  const std::string rule = "to { hosts: 'example.com:8080' }";
  EXPECT_TRUE(host(rule, "example.com:8080"));
  EXPECT_FALSE(host(rule, "example.com:9090"));
  EXPECT_FALSE(host(rule, "example.com"));
}

TEST(OperationTest, HostsIpLiterals) {
  EXPECT_TRUE(host("to { hosts: '[fd00::1]' }", "[fd00::1]:8080"));
  EXPECT_TRUE(host("to { hosts: '[fd00::1]' }", "[FD00::1]"));
  EXPECT_TRUE(host("to { hosts: '10.0.0.1' }", "10.0.0.1:80"));
  // An unbracketed IPv6 literal has no port to strip.
  EXPECT_FALSE(host("to { hosts: 'fd00::' }", "fd00::1"));
}

TEST(OperationTest, HostsPrefixSuffixAndAny) {
  const std::string suffix = "to { hosts: '*.example.com' }";
  EXPECT_TRUE(host(suffix, "api.example.com"));
  EXPECT_TRUE(host(suffix, "API.Example.com:443"));
  EXPECT_FALSE(host(suffix, "example.com"));
  EXPECT_FALSE(host(suffix, "api.example.org"));
  const std::string prefix = "to { hosts: 'api.*' }";
  EXPECT_TRUE(host(prefix, "api.example.com"));
  EXPECT_TRUE(host(prefix, "API.internal:80"));
  EXPECT_FALSE(host(prefix, "web.example.com"));
  const std::string any = "to { hosts: '*' }";
  EXPECT_TRUE(host(any, "anything"));
  EXPECT_FALSE(host(any, ""));
}

TEST(OperationTest, NotHosts) {
  const std::string rule = "to { not_hosts: ['admin.example.com', '*.internal'] }";
  EXPECT_TRUE(host(rule, "www.example.com"));
  EXPECT_FALSE(host(rule, "Admin.Example.com:8443"));
  EXPECT_FALSE(host(rule, "db.internal"));
}

TEST(OperationTest, Ports) {
  auto engine = allowRule("to { ports: ['8080', '9090'] }");
  auto on = [&](uint32_t port) {
    Request r;
    r.http("GET", "/").port(port);
    return allowed(*engine, r);
  };
  EXPECT_TRUE(on(8080));
  EXPECT_TRUE(on(9090));
  EXPECT_FALSE(on(80));
  EXPECT_FALSE(on(0));  // unknown

  auto not_ports = allowRule("to { not_ports: '15000' }");
  Request admin;
  admin.http("GET", "/").port(15000);
  EXPECT_FALSE(allowed(*not_ports, admin));
  Request app;
  app.http("GET", "/").port(8080);
  EXPECT_TRUE(allowed(*not_ports, app));
}

TEST(OperationTest, MethodsAreCaseSensitive) {
  const std::string rule = "to { methods: ['GET', 'HEAD'] }";
  EXPECT_TRUE(method(rule, "GET"));
  EXPECT_TRUE(method(rule, "HEAD"));
  EXPECT_FALSE(method(rule, "POST"));
  EXPECT_FALSE(method(rule, "get"));
}

TEST(OperationTest, MethodsPrefixSuffixAndAny) {
  EXPECT_TRUE(method("to { methods: 'P*' }", "POST"));
  EXPECT_TRUE(method("to { methods: 'P*' }", "PATCH"));
  EXPECT_FALSE(method("to { methods: 'P*' }", "GET"));
  EXPECT_TRUE(method("to { methods: '*ETE' }", "DELETE"));
  EXPECT_FALSE(method("to { methods: '*ETE' }", "PUT"));
  EXPECT_TRUE(method("to { methods: '*' }", "OPTIONS"));
}

TEST(OperationTest, NotMethods) {
  const std::string rule = "to { not_methods: ['DELETE', 'P*'] }";
  EXPECT_TRUE(method(rule, "GET"));
  EXPECT_FALSE(method(rule, "DELETE"));
  EXPECT_FALSE(method(rule, "PUT"));
}

TEST(OperationTest, PathsExact) {
  const std::string rule = "to { paths: '/reviews' }";
  EXPECT_TRUE(path(rule, "/reviews"));
  EXPECT_TRUE(path(rule, "/reviews?id=1"));
  EXPECT_FALSE(path(rule, "/reviews/1"));
  EXPECT_FALSE(path(rule, "/Reviews"));
}

TEST(OperationTest, PathsPrefixSuffixAndAny) {
  const std::string prefix = "to { paths: '/reviews/*' }";
  EXPECT_TRUE(path(prefix, "/reviews/1"));
  EXPECT_TRUE(path(prefix, "/reviews/"));
  EXPECT_FALSE(path(prefix, "/reviews"));
  EXPECT_FALSE(path(prefix, "/ratings/1"));
  const std::string suffix = "to { paths: '*.css' }";
  EXPECT_TRUE(path(suffix, "/static/site.css"));
  EXPECT_TRUE(path(suffix, "/static/site.css?v=3"));
  // The query is not part of the path.
  EXPECT_FALSE(path(suffix, "/static/site.js?f=.css"));
  const std::string any = "to { paths: '*' }";
  EXPECT_TRUE(path(any, "/"));
  EXPECT_TRUE(path(any, "/a/b?c"));
}

TEST(OperationTest, NotPaths) {
  const std::string rule = "to { not_paths: ['/admin/*', '/healthz'] }";
  EXPECT_TRUE(path(rule, "/reviews/1"));
  EXPECT_FALSE(path(rule, "/admin/users"));
  EXPECT_FALSE(path(rule, "/healthz"));
  EXPECT_FALSE(path(rule, "/healthz?verbose"));
  EXPECT_TRUE(path(rule, "/healthz/more"));
}

TEST(OperationTest, FieldsOfOneOperationAllMatch) {
  auto engine = allowRule("to { methods: 'GET' paths: '/api/*' ports: '8080' not_hosts: 'x.*' }");
  auto check = [&](const char* method, const char* path, uint32_t port, const char* host) {
    Request r;
    r.http(method, path, host).port(port);
    return allowed(*engine, r);
  };
  EXPECT_TRUE(check("GET", "/api/v1", 8080, "svc"));
  EXPECT_FALSE(check("POST", "/api/v1", 8080, "svc"));
  EXPECT_FALSE(check("GET", "/web", 8080, "svc"));
  EXPECT_FALSE(check("GET", "/api/v1", 8081, "svc"));
  EXPECT_FALSE(check("GET", "/api/v1", 8080, "x.svc"));
}

TEST(OperationTest, EmptyOperationMatchesEverything) {
  Request r;
  r.http("DELETE", "/anything");
  EXPECT_TRUE(allowed(*allowRule("to {}"), r));
}

}  // namespace
}  // namespace remora::rbac
