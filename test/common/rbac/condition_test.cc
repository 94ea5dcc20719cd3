// `when` conditions, one key at a time, and how conditions combine.

#include "test/common/rbac/rbac_test_util.h"

namespace remora::rbac {
namespace {

using testing::allowed;
using testing::allowRule;
using testing::Request;

std::string when(const std::string& key, const std::string& values,
                 const std::string& not_values = "") {
  std::string rule = "when { key: '" + key + "'";
  if (!values.empty()) rule += " values: " + values;
  if (!not_values.empty()) rule += " not_values: " + not_values;
  return rule + " }";
}

TEST(ConditionTest, RequestHeaders) {
  auto engine = allowRule(when("request.headers[X-Tenant]", "['acme', 'globex-*']"));
  auto with = [&](const char* value) {
    Request r;
    r.http("GET", "/");
    if (value != nullptr) r.header("x-tenant", value);
    return allowed(*engine, r);
  };
  EXPECT_TRUE(with("acme"));
  EXPECT_TRUE(with("globex-east"));
  EXPECT_FALSE(with("ACME"));  // values are case-sensitive
  EXPECT_FALSE(with("initech"));
  EXPECT_FALSE(with(nullptr));
}

TEST(ConditionTest, RequestHeaderNameLookedUpInLowercase) {
  auto engine = allowRule(when("request.headers[X-Tenant]", "'acme'"));
  Request r;
  r.http("GET", "/").header("x-tenant", "acme");
  EXPECT_TRUE(allowed(*engine, r));
  EXPECT_EQ(r.lookups(), std::vector<std::string>{"x-tenant"});
}

TEST(ConditionTest, RequestHeaderPresenceAndNotValues) {
  auto present = allowRule(when("request.headers[authorization]", "'*'"));
  Request empty_value;
  empty_value.http("GET", "/").header("authorization", "");
  EXPECT_TRUE(allowed(*present, empty_value));
  Request none;
  none.http("GET", "/");
  EXPECT_FALSE(allowed(*present, none));

  auto absent = allowRule(when("request.headers[x-debug]", "", "'*'"));
  EXPECT_TRUE(allowed(*absent, none));
  Request debug;
  debug.http("GET", "/").header("x-debug", "1");
  EXPECT_FALSE(allowed(*absent, debug));

  // A request without a header lookup has no headers.
  AuthorizationRequest bare;
  bare.is_http = true;
  bare.method = "GET";
  bare.path = "/";
  EXPECT_FALSE(allowed(*present, bare));
  EXPECT_TRUE(allowed(*absent, bare));
}

TEST(ConditionTest, ValuesAndNotValuesTogether) {
  auto engine = allowRule(when("request.headers[x-env]", "'prod-*'", "'prod-legacy'"));
  auto with = [&](const char* value) {
    Request r;
    r.http("GET", "/").header("x-env", value);
    return allowed(*engine, r);
  };
  EXPECT_TRUE(with("prod-east"));
  EXPECT_FALSE(with("prod-legacy"));
  EXPECT_FALSE(with("staging"));
}

TEST(ConditionTest, SourceIp) {
  auto engine = allowRule(when("source.ip", "['10.0.0.0/8', 'fd00::/8']", "'10.9.0.0/16'"));
  auto from = [&](const char* ip) {
    Request r;
    r.http("GET", "/").source(ip).remote("203.0.113.1");
    return allowed(*engine, r);
  };
  EXPECT_TRUE(from("10.1.2.3"));
  EXPECT_FALSE(from("10.9.2.3"));
  EXPECT_TRUE(from("fd00::7"));
  EXPECT_FALSE(from("192.168.1.1"));
}

TEST(ConditionTest, RemoteIp) {
  auto engine = allowRule(when("remote.ip", "'203.0.113.0/24'"));
  Request forwarded;
  forwarded.http("GET", "/").source("10.0.0.1").remote("203.0.113.5");
  EXPECT_TRUE(allowed(*engine, forwarded));
  Request direct;
  direct.http("GET", "/").source("10.0.0.1");
  EXPECT_FALSE(allowed(*engine, direct));
}

TEST(ConditionTest, SourceNamespace) {
  auto engine = allowRule(when("source.namespace", "['default', 'team-*']"));
  auto from = [&](const char* principal) {
    Request r;
    r.http("GET", "/").principal(principal);
    return allowed(*engine, r);
  };
  EXPECT_TRUE(from("spiffe://cluster.local/ns/default/sa/a"));
  EXPECT_TRUE(from("spiffe://cluster.local/ns/team-blue/sa/a"));
  EXPECT_FALSE(from("spiffe://cluster.local/ns/prod/sa/a"));
  EXPECT_FALSE(from(""));
}

TEST(ConditionTest, SourcePrincipal) {
  auto engine = allowRule(when("source.principal", "'cluster.local/ns/default/*'",
                               "'spiffe://cluster.local/ns/default/sa/legacy'"));
  auto from = [&](const char* principal) {
    Request r;
    r.http("GET", "/").principal(principal);
    return allowed(*engine, r);
  };
  EXPECT_TRUE(from("spiffe://cluster.local/ns/default/sa/a"));
  EXPECT_FALSE(from("spiffe://cluster.local/ns/default/sa/legacy"));
  EXPECT_FALSE(from("spiffe://cluster.local/ns/prod/sa/a"));
  EXPECT_FALSE(from(""));
}

TEST(ConditionTest, DestinationIpAndPort) {
  auto engine = allowRule(when("destination.ip", "'10.0.0.0/24'") + " " +
                          when("destination.port", "['80', '443']"));
  auto to = [&](const char* ip, uint32_t port) {
    Request r;
    r.http("GET", "/").destination(ip, port);
    return allowed(*engine, r);
  };
  EXPECT_TRUE(to("10.0.0.9", 80));
  EXPECT_TRUE(to("10.0.0.9", 443));
  EXPECT_FALSE(to("10.0.0.9", 8080));
  EXPECT_FALSE(to("10.0.1.9", 80));

  auto not_port = allowRule(when("destination.port", "", "'15000'"));
  Request admin;
  admin.http("GET", "/").destination("10.0.0.9", 15000);
  EXPECT_FALSE(allowed(*not_port, admin));
}

TEST(ConditionTest, ConnectionSni) {
  auto engine = allowRule(when("connection.sni", "'*.example.com'"));
  Request tls;
  tls.tcp().sni("api.example.com");
  EXPECT_TRUE(allowed(*engine, tls));
  Request other;
  other.tcp().sni("api.example.org");
  EXPECT_FALSE(allowed(*engine, other));
  Request no_sni;
  no_sni.tcp();
  EXPECT_FALSE(allowed(*engine, no_sni));
}

TEST(ConditionTest, RequestAuthPrincipal) {
  auto engine = allowRule(when("request.auth.principal", "'https://accounts.example.com/*'"));
  Request alice;
  alice.http("GET", "/").requestPrincipal("https://accounts.example.com/alice");
  EXPECT_TRUE(allowed(*engine, alice));
  Request other;
  other.http("GET", "/").requestPrincipal("https://evil.example/alice");
  EXPECT_FALSE(allowed(*engine, other));
  // No validated token: the attribute is absent.
  Request anonymous;
  anonymous.http("GET", "/");
  EXPECT_FALSE(allowed(*engine, anonymous));
}

TEST(ConditionTest, EveryConditionMustMatch) {
  auto engine =
      allowRule(when("request.headers[x-a]", "'1'") + " " + when("request.headers[x-b]", "'2'"));
  Request both;
  both.http("GET", "/").header("x-a", "1").header("x-b", "2");
  EXPECT_TRUE(allowed(*engine, both));
  Request one;
  one.http("GET", "/").header("x-a", "1");
  EXPECT_FALSE(allowed(*engine, one));
}

}  // namespace
}  // namespace remora::rbac
