// The engine's decision: DENY first, AUDIT reported only, ALLOW required once any exists; how
// rules combine; the TCP rules for HTTP-only fields; config errors with their field paths.

#include "source/common/rbac/engine.h"

#include <atomic>
#include <thread>

#include "test/common/rbac/rbac_test_util.h"

namespace remora::rbac {
namespace {

using testing::allowed;
using testing::allowRule;
using testing::configErrors;
using testing::makeEngine;
using testing::Request;

constexpr const char* kProductpage = "spiffe://cluster.local/ns/default/sa/productpage";

TEST(EngineTest, BookinfoReviewsViewer) {
  auto engine = makeEngine(R"(
    policies {
      name: 'default/reviews-viewer'
      action: ALLOW
      rules {
        from { principals: 'cluster.local/ns/default/sa/productpage' }
        to { methods: 'GET' paths: '/reviews/*' }
      }
    })");
  Request get;
  get.http("GET", "/reviews/1").principal(kProductpage);
  Decision d = engine->evaluate(get);
  EXPECT_TRUE(d.allowed);
  EXPECT_EQ(d.policy, "default/reviews-viewer");
  EXPECT_EQ(d.reason, "allowed by ALLOW policy");
  EXPECT_TRUE(d.audited.empty());

  Request post;
  post.http("POST", "/reviews/1").principal(kProductpage);
  d = engine->evaluate(post);
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.policy, "");
  EXPECT_EQ(d.reason, "no ALLOW policy matched");

  Request other_sa;
  other_sa.http("GET", "/reviews/1").principal("spiffe://cluster.local/ns/default/sa/ratings");
  EXPECT_FALSE(allowed(*engine, other_sa));

  Request no_identity;
  no_identity.http("GET", "/reviews/1");
  EXPECT_FALSE(allowed(*engine, no_identity));
}

TEST(EngineTest, NoPoliciesAllowsEverything) {
  auto engine = makeEngine("");
  EXPECT_EQ(engine->policyCount(), 0u);
  Request r;
  r.http("DELETE", "/x");
  Decision d = engine->evaluate(r);
  EXPECT_TRUE(d.allowed);
  EXPECT_EQ(d.policy, "");
  EXPECT_EQ(d.reason, "no ALLOW policies");
}

TEST(EngineTest, NoAllowPoliciesAllowsWhatIsNotDenied) {
  auto engine = makeEngine(R"(
    policies { name: 'ns/deny-delete' action: DENY rules { to { methods: 'DELETE' } } })");
  EXPECT_FALSE(engine->hasAllowPolicies());
  Request get;
  get.http("GET", "/");
  Decision d = engine->evaluate(get);
  EXPECT_TRUE(d.allowed);
  EXPECT_EQ(d.reason, "no ALLOW policies");
  Request del;
  del.http("DELETE", "/");
  d = engine->evaluate(del);
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.policy, "ns/deny-delete");
  EXPECT_EQ(d.reason, "denied by DENY policy");
}

TEST(EngineTest, DenyWinsOverAllowWhateverTheOrder) {
  auto engine = makeEngine(R"(
    policies { name: 'ns/allow-all' action: ALLOW rules {} }
    policies { name: 'ns/deny-admin' action: DENY rules { to { paths: '/admin/*' } } }
    policies { name: 'ns/deny-admin-too' action: DENY rules { to { paths: '/admin/*' } } })");
  Request admin;
  admin.http("GET", "/admin/users");
  Decision d = engine->evaluate(admin);
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.policy, "ns/deny-admin");  // the first matching DENY, in config order
  Request other;
  other.http("GET", "/home");
  d = engine->evaluate(other);
  EXPECT_TRUE(d.allowed);
  EXPECT_EQ(d.policy, "ns/allow-all");
}

TEST(EngineTest, FirstMatchingAllowIsReported) {
  auto engine = makeEngine(R"(
    policies { name: 'ns/get' action: ALLOW rules { to { methods: 'GET' } } }
    policies { name: 'ns/any' action: ALLOW rules {} })");
  Request get;
  get.http("GET", "/");
  EXPECT_EQ(engine->evaluate(get).policy, "ns/get");
  Request put;
  put.http("PUT", "/");
  EXPECT_EQ(engine->evaluate(put).policy, "ns/any");
}

TEST(EngineTest, AuditNeverChangesTheDecision) {
  auto engine = makeEngine(R"(
    policies { name: 'ns/audit-posts' action: AUDIT rules { to { methods: 'POST' } } }
    policies { name: 'ns/audit-all' action: AUDIT rules {} }
    policies { name: 'ns/audit-none' action: AUDIT rules { to { methods: 'PATCH' } } }
    policies { name: 'ns/allow-get' action: ALLOW rules { to { methods: 'GET' } } }
    policies { name: 'ns/deny-secret' action: DENY rules { to { paths: '/secret' } } })");
  Request post;
  post.http("POST", "/");
  Decision d = engine->evaluate(post);
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.reason, "no ALLOW policy matched");
  EXPECT_EQ(d.audited, (std::vector<std::string_view>{"ns/audit-posts", "ns/audit-all"}));

  Request get;
  get.http("GET", "/");
  d = engine->evaluate(get);
  EXPECT_TRUE(d.allowed);
  EXPECT_EQ(d.policy, "ns/allow-get");
  EXPECT_EQ(d.audited, (std::vector<std::string_view>{"ns/audit-all"}));

  // Audited even when a DENY decides.
  Request secret;
  secret.http("GET", "/secret");
  d = engine->evaluate(secret);
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.policy, "ns/deny-secret");
  EXPECT_EQ(d.audited, (std::vector<std::string_view>{"ns/audit-all"}));
}

TEST(EngineTest, OnlyAuditPoliciesAllow) {
  auto engine = makeEngine("policies { name: 'ns/audit' action: AUDIT rules {} }");
  Request r;
  r.http("GET", "/");
  Decision d = engine->evaluate(r);
  EXPECT_TRUE(d.allowed);
  EXPECT_EQ(d.policy, "");
  EXPECT_EQ(d.audited, (std::vector<std::string_view>{"ns/audit"}));
}

TEST(EngineTest, EmptyRuleMatchesEverything) {
  auto engine = makeEngine("policies { name: 'ns/allow-all' action: ALLOW rules {} }");
  Request http;
  http.http("POST", "/x");
  EXPECT_TRUE(allowed(*engine, http));
  Request tcp;
  tcp.tcp();
  EXPECT_TRUE(allowed(*engine, tcp));
  auto deny_all = makeEngine("policies { name: 'ns/deny-all' action: DENY rules {} }");
  EXPECT_FALSE(allowed(*deny_all, http));
  EXPECT_FALSE(allowed(*deny_all, tcp));
}

TEST(EngineTest, PolicyWithoutRulesMatchesNothing) {
  // ALLOW without rules: there is an ALLOW policy and it never matches (allow-nothing).
  auto allow_nothing = makeEngine("policies { name: 'ns/allow-nothing' action: ALLOW }");
  Request r;
  r.http("GET", "/").principal(kProductpage);
  Decision d = allow_nothing->evaluate(r);
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.reason, "no ALLOW policy matched");
  // DENY and AUDIT without rules never match either.
  auto others = makeEngine(R"(
    policies { name: 'ns/deny' action: DENY }
    policies { name: 'ns/audit' action: AUDIT })");
  d = others->evaluate(r);
  EXPECT_TRUE(d.allowed);
  EXPECT_TRUE(d.audited.empty());
}

TEST(EngineTest, AnyRuleOfAPolicy) {
  auto engine = makeEngine(R"(
    policies {
      name: 'ns/p' action: ALLOW
      rules { to { methods: 'GET' } }
      rules { from { namespaces: 'admin' } }
    })");
  Request get;
  get.http("GET", "/");
  EXPECT_TRUE(allowed(*engine, get));
  Request admin_put;
  admin_put.http("PUT", "/").principal("spiffe://cluster.local/ns/admin/sa/ops");
  EXPECT_TRUE(allowed(*engine, admin_put));
  Request put;
  put.http("PUT", "/").principal(kProductpage);
  EXPECT_FALSE(allowed(*engine, put));
}

TEST(EngineTest, RuleNeedsSomeFromSomeToAndEveryWhen) {
  auto engine = allowRule(R"(
    from { namespaces: 'default' }
    from { ip_blocks: '10.0.0.0/8' }
    to { methods: 'GET' }
    to { paths: '/public/*' }
    when { key: 'request.headers[x-a]' values: '1' }
    when { key: 'destination.port' values: '8080' })");
  auto check = [&](const char* principal, const char* ip, const char* method, const char* path,
                   const char* x_a, uint32_t port) {
    Request r;
    r.http(method, path).principal(principal).source(ip).port(port).header("x-a", x_a);
    return allowed(*engine, r);
  };
  const char* other = "spiffe://cluster.local/ns/prod/sa/x";
  EXPECT_TRUE(check(kProductpage, "192.168.0.1", "GET", "/", "1", 8080));        // from[0], to[0]
  EXPECT_TRUE(check(other, "10.1.1.1", "POST", "/public/a", "1", 8080));         // from[1], to[1]
  EXPECT_FALSE(check(other, "192.168.0.1", "GET", "/", "1", 8080));              // no from
  EXPECT_FALSE(check(kProductpage, "10.1.1.1", "POST", "/private", "1", 8080));  // no to
  EXPECT_FALSE(check(kProductpage, "10.1.1.1", "GET", "/", "2", 8080));          // when[0]
  EXPECT_FALSE(check(kProductpage, "10.1.1.1", "GET", "/", "1", 9090));          // when[1]
}

// TCP: HTTP-only fields (hosts, methods, paths, request_principals, request.* conditions)
// make an ALLOW rule unmatchable, and are ignored by DENY and AUDIT rules.
TEST(EngineTest, TcpAllowRuleWithHttpFieldsNeverMatches) {
  for (const char* rule : {
           "to { methods: 'GET' }",
           "to { paths: '*' }",
           "to { hosts: '*' }",
           "to { not_methods: 'DELETE' }",
           "from { request_principals: '*' }",
           "from { not_request_principals: 'x/y' }",
           "when { key: 'request.headers[x]' not_values: 'y' }",
           "when { key: 'request.auth.principal' values: '*' }",
           // Even next to fields that would match, and in another `to` entry.
           "from { namespaces: 'default' } to { ports: '8080' } to { methods: 'GET' }",
       }) {
    auto engine = allowRule(rule);
    Request tcp;
    tcp.tcp().principal(kProductpage).port(8080);
    Decision d = engine->evaluate(tcp);
    EXPECT_FALSE(d.allowed) << rule;
    EXPECT_EQ(d.reason, "no ALLOW policy matched") << rule;
  }
  // Without HTTP-only fields TCP is matched as usual.
  auto tcp_rule = allowRule("from { namespaces: 'default' } to { ports: '8080' }");
  Request tcp;
  tcp.tcp().principal(kProductpage).port(8080);
  EXPECT_TRUE(allowed(*tcp_rule, tcp));
  Request wrong_port;
  wrong_port.tcp().principal(kProductpage).port(9090);
  EXPECT_FALSE(allowed(*tcp_rule, wrong_port));
}

TEST(EngineTest, TcpDenyRuleIgnoresHttpFields) {
  auto engine = makeEngine(R"(
    policies { name: 'ns/deny-post' action: DENY rules { to { methods: 'POST' } } }
    policies {
      name: 'ns/deny-prod-admin' action: DENY
      rules { from { namespaces: 'prod' } to { paths: '/admin/*' ports: '9000' } }
    }
    policies { name: 'ns/allow-all' action: ALLOW rules {} })");
  // HTTP: matched exactly.
  Request get;
  get.http("GET", "/").port(8080);
  EXPECT_TRUE(allowed(*engine, get));
  // TCP: `methods` is dropped, so the DENY rule matches every connection.
  Request tcp;
  tcp.tcp().port(8080);
  Decision d = engine->evaluate(tcp);
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.policy, "ns/deny-post");

  // The non-HTTP fields of a DENY rule still apply.
  auto scoped = makeEngine(R"(
    policies {
      name: 'ns/deny-prod-admin' action: DENY
      rules { from { namespaces: 'prod' } to { paths: '/admin/*' ports: '9000' } }
    })");
  Request prod_9000;
  prod_9000.tcp().principal("spiffe://cluster.local/ns/prod/sa/x").port(9000);
  EXPECT_FALSE(allowed(*scoped, prod_9000));
  Request prod_8080;
  prod_8080.tcp().principal("spiffe://cluster.local/ns/prod/sa/x").port(8080);
  EXPECT_TRUE(allowed(*scoped, prod_8080));
  Request default_9000;
  default_9000.tcp().principal(kProductpage).port(9000);
  EXPECT_TRUE(allowed(*scoped, default_9000));
}

TEST(EngineTest, TcpDenyIgnoresHttpConditionsAndNegations) {
  auto engine = makeEngine(R"(
    policies {
      name: 'ns/deny' action: DENY
      rules {
        from { not_request_principals: '*' ip_blocks: '10.0.0.0/8' }
        when { key: 'request.headers[x-debug]' values: '1' }
      }
    })");
  Request inside;
  inside.tcp().source("10.1.1.1");
  EXPECT_FALSE(allowed(*engine, inside));
  Request outside;
  outside.tcp().source("11.1.1.1");
  EXPECT_TRUE(allowed(*engine, outside));
  // HTTP: the header decides.
  Request http_inside;
  http_inside.http("GET", "/").source("10.1.1.1");
  EXPECT_TRUE(allowed(*engine, http_inside));
  http_inside.header("x-debug", "1");
  EXPECT_FALSE(allowed(*engine, http_inside));
}

TEST(EngineTest, TcpAuditRuleIgnoresHttpFields) {
  auto engine = makeEngine(R"(
    policies { name: 'ns/audit-get' action: AUDIT rules { to { methods: 'GET' } } })");
  Request tcp;
  tcp.tcp();
  Decision d = engine->evaluate(tcp);
  EXPECT_TRUE(d.allowed);
  EXPECT_EQ(d.audited, (std::vector<std::string_view>{"ns/audit-get"}));
}

TEST(EngineTest, ConfigErrorsNameTheField) {
  EXPECT_EQ(configErrors(R"(
    policies { name: 'ns/a' rules { from { principals: 'x' } } }
    policies {
      name: 'ns/b'
      rules { }
      rules {
        from { ip_blocks: ['10.0.0.0/8', 'fd00::/8', '10.0.0.0/33'] }
        from { not_remote_ip_blocks: 'example.com' not_ip_blocks: '1.2.3.4/' }
        to { ports: ['80', '80a', '0', '65536'] not_ports: '' }
        to { methods: ['GET', ''] }
        when { key: 'source.ip' values: '300.1.1.1' not_values: '::1/129' }
        when { key: 'destination.port' not_values: 'http' }
        when { key: 'request.auth.claims[iss]' values: 'x' }
        when { key: 'request.headers[]' values: 'x' }
        when { key: '' values: 'x' }
        when { key: 'connection.sni' }
        from { principals: 'spiffe://' }
      }
    })"),
            (std::vector<std::string>{
                "policies[1].rules[1].from[0].ip_blocks[2]: \"10.0.0.0/33\" is not an IP address "
                "or CIDR range",
                "policies[1].rules[1].from[1].not_ip_blocks[0]: \"1.2.3.4/\" is not an IP address "
                "or CIDR range",
                "policies[1].rules[1].from[1].not_remote_ip_blocks[0]: \"example.com\" is not an "
                "IP address or CIDR range",
                "policies[1].rules[1].from[2].principals[0]: \"spiffe://\" names no identity",
                "policies[1].rules[1].to[0].ports[1]: \"80a\" is not a port number (1-65535)",
                "policies[1].rules[1].to[0].ports[2]: \"0\" is not a port number (1-65535)",
                "policies[1].rules[1].to[0].ports[3]: \"65536\" is not a port number (1-65535)",
                "policies[1].rules[1].to[0].not_ports[0]: must not be empty",
                "policies[1].rules[1].to[1].methods[1]: must not be empty",
                "policies[1].rules[1].when[0].values[0]: \"300.1.1.1\" is not an IP address or "
                "CIDR range",
                "policies[1].rules[1].when[0].not_values[0]: \"::1/129\" is not an IP address or "
                "CIDR range",
                "policies[1].rules[1].when[1].not_values[0]: \"http\" is not a port number "
                "(1-65535)",
                "policies[1].rules[1].when[2].key: unsupported condition key "
                "\"request.auth.claims[iss]\"",
                "policies[1].rules[1].when[3].key: no header name in \"request.headers[]\"",
                "policies[1].rules[1].when[4].key: required",
                "policies[1].rules[1].when[5]: needs values or not_values",
            }));
}

TEST(EngineTest, ConfigErrorsForPolicies) {
  EXPECT_EQ(configErrors(R"(
    policies { action: DENY }
    policies { name: 'ns/a' }
    policies { name: 'ns/a' action: AUDIT }
    policies { name: 'ns/b' action: 7 })"),
            (std::vector<std::string>{
                "policies[0].name: required",
                "policies[2].name: duplicate policy name \"ns/a\"",
                "policies[3].action: unknown action 7",
            }));
}

TEST(EngineTest, ErrorPathsUnderAGivenPrefix) {
  config::Errors errors;
  auto proto = testing::parseRbac(
      "policies { name: 'ns/a' rules { when { key: 'source.pod' values: 'x' } } }");
  EXPECT_EQ(Engine::create(proto, "listeners[0].filters[1].rbac", errors), nullptr);
  EXPECT_EQ(errors.lines(),
            (std::vector<std::string>{"listeners[0].filters[1].rbac.policies[0].rules[0].when[0]"
                                      ".key: unsupported condition key \"source.pod\""}));
}

TEST(EngineTest, SharedAcrossThreadsIsReadOnly) {
  // evaluate() is const and keeps no state: concurrent calls see the same decisions.
  auto engine = makeEngine(R"(
    policies { name: 'ns/allow-get' action: ALLOW rules { to { methods: 'GET' } } })");
  std::vector<std::thread> threads;
  std::atomic<int> wrong{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 1000; ++i) {
        Request r;
        bool get = (i + t) % 2 == 0;
        r.http(get ? "GET" : "PUT", "/");
        if (engine->evaluate(r).allowed != get) ++wrong;
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(wrong.load(), 0);
}

}  // namespace
}  // namespace remora::rbac
