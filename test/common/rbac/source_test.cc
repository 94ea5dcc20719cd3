// Source fields (who sends the request): principals, namespaces, ip_blocks, remote_ip_blocks,
// request_principals and their not_* forms, each through a one-rule ALLOW policy.

#include "test/common/rbac/rbac_test_util.h"

namespace remora::rbac {
namespace {

using testing::allowed;
using testing::allowRule;
using testing::Request;

constexpr const char* kProductpage = "spiffe://cluster.local/ns/default/sa/productpage";
constexpr const char* kReviews = "spiffe://cluster.local/ns/default/sa/reviews";
constexpr const char* kProdRatings = "spiffe://cluster.local/ns/prod/sa/ratings";

bool allows(const Engine& engine, const char* principal) {
  Request r;
  r.http("GET", "/").principal(principal);
  return allowed(engine, r);
}

TEST(SourceTest, PrincipalExact) {
  auto engine = allowRule("from { principals: 'cluster.local/ns/default/sa/productpage' }");
  EXPECT_TRUE(allows(*engine, kProductpage));
  EXPECT_FALSE(allows(*engine, kReviews));
  // The peer's ID may come without "spiffe://" too.
  EXPECT_TRUE(allows(*engine, "cluster.local/ns/default/sa/productpage"));
  EXPECT_FALSE(allows(*engine, "cluster.local/ns/default/sa/productpage/x"));
}

TEST(SourceTest, PrincipalWrittenWithSpiffePrefix) {
  auto engine =
      allowRule("from { principals: 'spiffe://cluster.local/ns/default/sa/productpage' }");
  EXPECT_TRUE(allows(*engine, kProductpage));
  EXPECT_TRUE(allows(*engine, "cluster.local/ns/default/sa/productpage"));
  EXPECT_FALSE(allows(*engine, kReviews));
  auto prefix = allowRule("from { principals: 'spiffe://cluster.local/ns/default/*' }");
  EXPECT_TRUE(allows(*prefix, kProductpage));
  EXPECT_FALSE(allows(*prefix, kProdRatings));
}

TEST(SourceTest, PrincipalPrefixSuffixAndAny) {
  auto prefix = allowRule("from { principals: 'cluster.local/ns/default/*' }");
  EXPECT_TRUE(allows(*prefix, kProductpage));
  EXPECT_TRUE(allows(*prefix, kReviews));
  EXPECT_FALSE(allows(*prefix, kProdRatings));

  auto suffix = allowRule("from { principals: '*/sa/ratings' }");
  EXPECT_TRUE(allows(*suffix, kProdRatings));
  EXPECT_FALSE(allows(*suffix, kReviews));

  auto any = allowRule("from { principals: '*' }");
  EXPECT_TRUE(allows(*any, kProductpage));
  EXPECT_TRUE(allows(*any, "other.domain/ns/x/sa/y"));
}

TEST(SourceTest, PrincipalsAnyOfTheValues) {
  auto engine = allowRule(
      "from { principals: ['cluster.local/ns/default/sa/productpage', "
      "'cluster.local/ns/prod/sa/ratings'] }");
  EXPECT_TRUE(allows(*engine, kProductpage));
  EXPECT_TRUE(allows(*engine, kProdRatings));
  EXPECT_FALSE(allows(*engine, kReviews));
}

TEST(SourceTest, UnauthenticatedPeerHasNoPrincipal) {
  Request anonymous;
  anonymous.http("GET", "/");
  // "*" means "any authenticated identity": no identity does not match it.
  EXPECT_FALSE(allowed(*allowRule("from { principals: '*' }"), anonymous));
  EXPECT_FALSE(allowed(*allowRule("from { principals: 'cluster.local/*' }"), anonymous));
  // Nothing in not_principals can match a missing principal.
  EXPECT_TRUE(allowed(*allowRule("from { not_principals: '*' }"), anonymous));
  EXPECT_TRUE(allowed(
      *allowRule("from { not_principals: 'cluster.local/ns/default/sa/productpage' }"), anonymous));
}

TEST(SourceTest, NotPrincipals) {
  auto engine = allowRule("from { not_principals: ['*/sa/reviews', 'cluster.local/ns/prod/*'] }");
  EXPECT_TRUE(allows(*engine, kProductpage));
  EXPECT_FALSE(allows(*engine, kReviews));
  EXPECT_FALSE(allows(*engine, kProdRatings));
  // not_principals: ['*'] admits only peers without identity.
  auto only_anonymous = allowRule("from { not_principals: '*' }");
  EXPECT_FALSE(allows(*only_anonymous, kProductpage));
}

TEST(SourceTest, Namespaces) {
  auto exact = allowRule("from { namespaces: 'default' }");
  EXPECT_TRUE(allows(*exact, kProductpage));
  EXPECT_FALSE(allows(*exact, kProdRatings));
  auto prefix = allowRule("from { namespaces: 'pro*' }");
  EXPECT_TRUE(allows(*prefix, kProdRatings));
  EXPECT_FALSE(allows(*prefix, kProductpage));
  auto suffix = allowRule("from { namespaces: '*ult' }");
  EXPECT_TRUE(allows(*suffix, kProductpage));
  EXPECT_FALSE(allows(*suffix, kProdRatings));
  auto any = allowRule("from { namespaces: '*' }");
  EXPECT_TRUE(allows(*any, kProdRatings));
  // The namespace is the segment after "/ns/"; an ID without one has no namespace.
  EXPECT_FALSE(allows(*any, "spiffe://cluster.local/workload/7"));
  EXPECT_FALSE(allows(*exact, "spiffe://cluster.local/ns/defaults/sa/x"));
  EXPECT_TRUE(allows(*exact, "spiffe://cluster.local/ns/default"));

  Request anonymous;
  anonymous.http("GET", "/");
  EXPECT_FALSE(allowed(*any, anonymous));
  EXPECT_TRUE(allowed(*allowRule("from { not_namespaces: 'default' }"), anonymous));
}

TEST(SourceTest, NotNamespaces) {
  auto engine = allowRule("from { not_namespaces: ['prod', 'kube-*'] }");
  EXPECT_TRUE(allows(*engine, kProductpage));
  EXPECT_FALSE(allows(*engine, kProdRatings));
  EXPECT_FALSE(allows(*engine, "spiffe://cluster.local/ns/kube-system/sa/dns"));
}

TEST(SourceTest, IpBlocks) {
  auto engine = allowRule("from { ip_blocks: ['10.1.0.0/16', '192.168.0.7', 'fd00::/8'] }");
  auto from = [&](const char* ip) {
    Request r;
    r.http("GET", "/").source(ip);
    return allowed(*engine, r);
  };
  EXPECT_TRUE(from("10.1.2.3"));
  EXPECT_FALSE(from("10.2.2.3"));
  EXPECT_TRUE(from("192.168.0.7"));
  EXPECT_FALSE(from("192.168.0.8"));
  EXPECT_TRUE(from("fd00:1::5"));
  EXPECT_FALSE(from("fe80::5"));
  EXPECT_TRUE(from("::ffff:10.1.9.9"));
  // An unknown source address is in no block.
  Request unknown;
  unknown.http("GET", "/");
  EXPECT_FALSE(allowed(*engine, unknown));
}

TEST(SourceTest, NotIpBlocks) {
  auto engine = allowRule("from { not_ip_blocks: ['10.0.0.0/8', '2001:db8::/32'] }");
  auto from = [&](const char* ip) {
    Request r;
    r.http("GET", "/").source(ip);
    return allowed(*engine, r);
  };
  EXPECT_FALSE(from("10.200.0.1"));
  EXPECT_TRUE(from("11.0.0.1"));
  EXPECT_FALSE(from("2001:db8::1"));
  EXPECT_TRUE(from("2001:db9::1"));
}

TEST(SourceTest, RemoteIpBlocksUseTheOriginalClient) {
  auto engine = allowRule("from { remote_ip_blocks: '203.0.113.0/24' }");
  Request via_proxy;
  via_proxy.http("GET", "/").source("10.0.0.5").remote("203.0.113.9");
  EXPECT_TRUE(allowed(*engine, via_proxy));
  Request other_client;
  other_client.http("GET", "/").source("203.0.113.1").remote("198.51.100.1");
  EXPECT_FALSE(allowed(*engine, other_client));
  // Without a forwarded address, the peer is the client.
  Request direct;
  direct.http("GET", "/").source("203.0.113.1");
  EXPECT_TRUE(allowed(*engine, direct));
  // ip_blocks keeps looking at the direct peer.
  auto peer = allowRule("from { ip_blocks: '203.0.113.0/24' }");
  EXPECT_FALSE(allowed(*peer, via_proxy));
}

TEST(SourceTest, NotRemoteIpBlocks) {
  auto engine = allowRule("from { not_remote_ip_blocks: '198.51.100.0/24' }");
  Request blocked;
  blocked.http("GET", "/").source("10.0.0.5").remote("198.51.100.7");
  EXPECT_FALSE(allowed(*engine, blocked));
  Request fine;
  fine.http("GET", "/").source("198.51.100.7").remote("203.0.113.1");
  EXPECT_TRUE(allowed(*engine, fine));
}

TEST(SourceTest, RequestPrincipals) {
  auto with = [](const std::string& rule, const char* principal) {
    Request r;
    r.http("GET", "/").requestPrincipal(principal);
    return allowed(*allowRule(rule), r);
  };
  EXPECT_TRUE(with("from { request_principals: 'https://issuer/alice' }", "https://issuer/alice"));
  EXPECT_FALSE(with("from { request_principals: 'https://issuer/alice' }", "https://issuer/bob"));
  EXPECT_TRUE(with("from { request_principals: 'https://issuer/*' }", "https://issuer/bob"));
  EXPECT_TRUE(with("from { request_principals: '*/bob' }", "https://other/bob"));
  EXPECT_TRUE(with("from { request_principals: '*' }", "https://other/bob"));
  EXPECT_FALSE(with("from { request_principals: '*' }", ""));
  EXPECT_TRUE(with("from { not_request_principals: '*' }", ""));
  EXPECT_FALSE(with("from { not_request_principals: '*/bob' }", "https://other/bob"));
  EXPECT_TRUE(with("from { not_request_principals: '*/bob' }", "https://other/alice"));
}

TEST(SourceTest, FieldsOfOneSourceAllMatch) {
  auto engine = allowRule(
      "from { namespaces: 'default' not_principals: '*/sa/reviews' ip_blocks: '10.0.0.0/8' }");
  auto check = [&](const char* principal, const char* ip) {
    Request r;
    r.http("GET", "/").principal(principal).source(ip);
    return allowed(*engine, r);
  };
  EXPECT_TRUE(check(kProductpage, "10.0.0.1"));
  EXPECT_FALSE(check(kProductpage, "11.0.0.1"));
  EXPECT_FALSE(check(kReviews, "10.0.0.1"));
  EXPECT_FALSE(check(kProdRatings, "10.0.0.1"));
}

TEST(SourceTest, EmptySourceMatchesEverything) {
  Request anonymous;
  anonymous.http("GET", "/");
  EXPECT_TRUE(allowed(*allowRule("from {}"), anonymous));
}

}  // namespace
}  // namespace remora::rbac
