// The RBAC filters' shared config and the network filter's factory: config errors carry the
// field path, the decision series exist from the start (one per reachable decision), and the
// filter is found by name and sits before a terminal filter.

#include "filters/network/rbac/rbac_filter_config.h"

#include "gtest/gtest.h"
#include "source/common/config/registry.h"
#include "source/common/stats/store_impl.h"
#include "test/filters/network/rbac/rbac_test_helpers.h"

namespace remora::filters::rbac {
namespace {

using testing::decisions;
using testing::parseConfig;
using testing::TestFactoryContext;
using Kind = RbacFilterConfig::Kind;

const config::NetworkFilterConfigFactory& networkFactory() {
  const auto* factory =
      config::Registry<config::NetworkFilterConfigFactory>::find("remora.filters.network.rbac");
  EXPECT_NE(factory, nullptr);
  return *factory;
}

TEST(RbacNetworkFilterFactoryTest, IsRegisteredAndNotTerminal) {
  const auto& factory = networkFactory();
  EXPECT_FALSE(factory.isTerminal());
  EXPECT_EQ(factory.createEmptyConfig()->GetDescriptor()->full_name(),
            "remora.extensions.filters.rbac.v1.RBAC");
}

TEST(RbacNetworkFilterFactoryTest, BadPoliciesAreReportedWithTheirPath) {
  stats::StoreImpl store;
  TestFactoryContext context(store);
  config::Errors errors;
  auto proto = parseConfig(R"(
    rules {
      policies { name: 'ns/ok' action: ALLOW rules { from { ip_blocks: '10.0.0.0/8' } } }
      policies { name: 'ns/bad' action: ALLOW rules { from { ip_blocks: '10.0.0.300/8' } } }
      policies { action: DENY }
    })");
  auto cb = networkFactory().createFilterFactory(
      proto, "static_resources.listeners[0].filter_chains[0].filters[0].typed_config", context,
      errors);
  EXPECT_FALSE(cb);
  ASSERT_EQ(errors.lines().size(), 2u) << errors.joined();
  EXPECT_EQ(
      errors.lines()[0].rfind("static_resources.listeners[0].filter_chains[0].filters[0]."
                              "typed_config.rules.policies[1].rules[0].from[0].ip_blocks[0]: ",
                              0),
      0u)
      << errors.lines()[0];
  EXPECT_EQ(errors.lines()[1],
            "static_resources.listeners[0].filter_chains[0].filters[0].typed_config.rules."
            "policies[2].name: required");
}

TEST(RbacNetworkFilterFactoryTest, ForwardPrincipalHeaderIsHttpOnly) {
  stats::StoreImpl store;
  TestFactoryContext context(store);
  config::Errors errors;
  auto cb = networkFactory().createFilterFactory(parseConfig("forward_principal_header: 'x-peer'"),
                                                 "f.typed_config", context, errors);
  EXPECT_FALSE(cb);
  EXPECT_EQ(errors.joined(),
            "f.typed_config.forward_principal_header: only the HTTP filter can set headers\n");
}

TEST(RbacFilterConfigTest, EveryReachableDecisionHasASeriesFromTheStart) {
  stats::StoreImpl store;
  config::Errors errors;
  auto config = RbacFilterConfig::create(parseConfig(R"(
    stat_prefix: 'reviews'
    rules {
      policies { name: 'ns/allow' action: ALLOW rules {} }
      policies { name: 'ns/deny' action: DENY rules { from { ip_blocks: '1.2.3.4' } } }
      policies { name: 'ns/audit' action: AUDIT rules {} }
    })"),
                                         Kind::kNetwork, "p", "listener", store, errors);
  ASSERT_NE(config, nullptr) << errors.joined();
  EXPECT_EQ(config->statPrefix(), "reviews");
  EXPECT_EQ(decisions(store, "network", "reviews", "ns/allow", "allowed"), 0);
  EXPECT_EQ(decisions(store, "network", "reviews", "ns/deny", "denied"), 0);
  EXPECT_EQ(decisions(store, "network", "reviews", "ns/audit", "audited"), 0);
  // With an ALLOW policy, "no policy" can only deny.
  EXPECT_EQ(decisions(store, "network", "reviews", "", "denied"), 0);
  EXPECT_EQ(decisions(store, "network", "reviews", "", "allowed"), std::nullopt);
  EXPECT_EQ(decisions(store, "network", "reviews", "ns/allow", "denied"), std::nullopt);
}

TEST(RbacFilterConfigTest, OneSeriesPerLabelSetWhenTwoConfigsShareAPrefix) {
  // A listener update builds the config again: the counters carry on.
  stats::StoreImpl store;
  config::Errors errors;
  for (int i = 0; i < 2; ++i) {
    auto config = RbacFilterConfig::create(parseConfig("stat_prefix: 'x'"), Kind::kHttp, "p", "l",
                                           store, errors);
    ASSERT_NE(config, nullptr);
    remora::rbac::AuthorizationRequest request;
    request.is_http = true;
    EXPECT_TRUE(config->authorize(request).allowed);
  }
  EXPECT_EQ(decisions(store, "http", "x", "", "allowed"), 2);
}

TEST(RbacFilterConfigTest, ForwardPrincipalHeaderIsLowercasedAndChecked) {
  stats::StoreImpl store;
  config::Errors errors;
  auto config = RbacFilterConfig::create(parseConfig("forward_principal_header: 'X-Peer-Id'"),
                                         Kind::kHttp, "p", "l", store, errors);
  ASSERT_NE(config, nullptr) << errors.joined();
  EXPECT_EQ(config->forwardPrincipalHeader(), "x-peer-id");

  for (const char* bad : {"x peer", ":authority", "Host", "x-peer\\n"}) {
    config::Errors bad_errors;
    auto refused = RbacFilterConfig::create(
        parseConfig(std::string("forward_principal_header: '") + bad + "'"), Kind::kHttp, "p", "l",
        store, bad_errors);
    EXPECT_EQ(refused, nullptr) << bad;
    ASSERT_EQ(bad_errors.lines().size(), 1u) << bad;
    EXPECT_EQ(bad_errors.lines()[0].rfind("p.forward_principal_header: ", 0), 0u)
        << bad_errors.lines()[0];
  }
}

}  // namespace
}  // namespace remora::filters::rbac
