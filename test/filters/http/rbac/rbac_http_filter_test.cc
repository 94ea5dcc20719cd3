// The RBAC HTTP filter on one stream: the request's method, path (without the query), host and
// headers and its connection's identity decide; a denied request gets 403 "RBAC: access
// denied" here and goes no further; the forwarded principal header is the proxy's word only.

#include "filters/http/rbac/rbac_http_filter.h"

#include "gtest/gtest.h"
#include "source/common/config/registry.h"
#include "source/common/event/libevent_dispatcher.h"
#include "source/common/network/raw_transport_socket.h"
#include "source/common/stats/store_impl.h"
#include "test/filters/network/rbac/rbac_test_helpers.h"

namespace remora::filters::rbac {
namespace {

using testing::decisions;
using testing::FakeTlsTransport;
using testing::parseConfig;
using testing::TestConnection;
using testing::TestFactoryContext;

constexpr const char* kProductpage = "spiffe://cluster.local/ns/default/sa/productpage";
constexpr const char* kRatings = "spiffe://cluster.local/ns/default/sa/ratings";

constexpr const char* kReviewsViewer = R"(
  stat_prefix: 'reviews'
  forward_principal_header: 'x-remora-peer-principal'
  rules {
    policies {
      name: 'default/reviews-viewer'
      action: ALLOW
      rules {
        from { principals: 'cluster.local/ns/default/sa/productpage' }
        to { methods: 'GET' paths: '/reviews/*' paths: '/reviews' }
      }
    }
    policies {
      name: 'default/public'
      action: ALLOW
      rules { to { paths: '/public/*' } }
    }
  })";

// The stream side of the connection manager, as far as a decoder filter sees it.
class FakeDecoderCallbacks : public http::StreamDecoderFilterCallbacks {
 public:
  explicit FakeDecoderCallbacks(network::Connection& connection) : connection_(connection) {}

  network::Connection& connection() override { return connection_; }
  event::Dispatcher& dispatcher() override { return connection_.dispatcher(); }
  server::WorkerContext& worker() override { std::abort(); }
  const router::RouteEntry* route() override { return nullptr; }
  void clearRouteCache() override {}
  http::StreamInfo& streamInfo() override { return info_; }
  uint64_t streamId() const override { return 1; }
  http::Protocol downstreamProtocol() const override { return http::Protocol::kHttp11; }
  uint64_t random() override { return 4; }
  void continueDecoding() override { ++continued; }
  void sendLocalReply(uint32_t status, std::string_view body, std::string_view details,
                      http::ResponseFlag flag) override {
    local_status = status;
    local_body = std::string(body);
    local_details = std::string(details);
    local_flag = flag;
  }
  void encodeHeaders(std::unique_ptr<http::HeaderMap>, bool) override { ++encoded; }
  void encodeData(buffer::Instance&, bool) override { ++encoded; }
  void encodeTrailers(std::unique_ptr<http::HeaderMap>) override { ++encoded; }
  void encodeInformationalHeaders(std::unique_ptr<http::HeaderMap>) override { ++encoded; }
  void onDecoderFilterAboveWriteBufferHighWatermark() override {}
  void onDecoderFilterBelowWriteBufferLowWatermark() override {}
  void addDownstreamWatermarkCallbacks(http::DownstreamWatermarkCallbacks&) override {}
  void removeDownstreamWatermarkCallbacks(http::DownstreamWatermarkCallbacks&) override {}
  void resetStream() override { ++resets; }

  uint32_t local_status = 0;
  std::string local_body;
  std::string local_details;
  http::ResponseFlag local_flag = http::ResponseFlag::kNone;
  int continued = 0;
  int encoded = 0;
  int resets = 0;

 private:
  network::Connection& connection_;
  http::StreamInfo info_;
};

http::HeaderMap request(const std::string& method, const std::string& path,
                        const std::string& host = "reviews.default.svc.cluster.local:9080") {
  http::HeaderMap headers;
  headers.add(":method", method);
  headers.add(":path", path);
  headers.add(":authority", host);
  headers.add(":scheme", "http");
  return headers;
}

class RbacHttpFilterTest : public ::testing::Test {
 protected:
  void configure(const std::string& text) {
    const auto* factory =
        config::Registry<config::HttpFilterConfigFactory>::find("remora.filters.http.rbac");
    ASSERT_NE(factory, nullptr);
    config::Errors errors;
    config_ = RbacFilterConfig::create(parseConfig(text), RbacFilterConfig::Kind::kHttp,
                                       "typed_config", "inbound", store_, errors);
    ASSERT_NE(config_, nullptr) << errors.joined();
  }
  // A stream on a connection whose peer proved `principal` (empty: plaintext, no TLS).
  void connect(const std::string& principal, const std::string& remote = "10.1.2.3:45678",
               const std::string& local = "10.0.0.9:9080") {
    network::TransportSocketPtr transport;
    if (principal == "plaintext") {
      transport = std::make_unique<network::RawTransportSocket>();
    } else {
      transport = FakeTlsTransport::done(principal);
    }
    connection_ =
        std::make_unique<TestConnection>(dispatcher_, std::move(transport), remote, local);
    callbacks_ = std::make_unique<FakeDecoderCallbacks>(*connection_->connection);
  }
  // Runs the filter over `headers`; the status it returned.
  http::FilterStatus decode(http::HeaderMap& headers) {
    RbacHttpFilter filter(*config_);
    filter.setDecoderFilterCallbacks(*callbacks_);
    http::FilterStatus status = filter.decodeHeaders(headers, true);
    filter.onDestroy();
    return status;
  }
  double count(const std::string& policy, const std::string& decision) {
    return decisions(store_, "http", "reviews", policy, decision).value_or(-1);
  }
  void expectDenied(http::FilterStatus status) {
    EXPECT_EQ(status, http::FilterStatus::kStop);
    EXPECT_EQ(callbacks_->local_status, 403u);
    EXPECT_EQ(callbacks_->local_body, "RBAC: access denied");
  }

  event::LibeventDispatcher dispatcher_{"test"};
  stats::StoreImpl store_;
  std::shared_ptr<const RbacFilterConfig> config_;
  std::unique_ptr<TestConnection> connection_;
  std::unique_ptr<FakeDecoderCallbacks> callbacks_;
};

TEST_F(RbacHttpFilterTest, AllowedRequestCarriesThePeersIdentity) {
  configure(kReviewsViewer);
  connect(kProductpage);
  auto headers = request("GET", "/reviews/1");
  EXPECT_EQ(decode(headers), http::FilterStatus::kContinue);
  EXPECT_EQ(callbacks_->local_status, 0u);
  EXPECT_EQ(headers.get("x-remora-peer-principal"), kProductpage);
  EXPECT_EQ(count("default/reviews-viewer", "allowed"), 1);
}

TEST_F(RbacHttpFilterTest, OtherServiceAccountGets403) {
  configure(kReviewsViewer);
  connect(kRatings);
  auto headers = request("GET", "/reviews/1");
  expectDenied(decode(headers));
  EXPECT_EQ(callbacks_->local_details, "rbac_access_denied_matched_policy[none]");
  EXPECT_FALSE(headers.has("x-remora-peer-principal"));
  EXPECT_EQ(count("", "denied"), 1);
  EXPECT_EQ(count("default/reviews-viewer", "allowed"), 0);
}

TEST_F(RbacHttpFilterTest, MethodOutsideThePolicyIsDenied) {
  configure(kReviewsViewer);
  connect(kProductpage);
  auto headers = request("POST", "/reviews/1");
  expectDenied(decode(headers));
  EXPECT_EQ(count("", "denied"), 1);
}

TEST_F(RbacHttpFilterTest, QueryStringAndFragmentAreNotPartOfThePath) {
  configure(kReviewsViewer);
  connect(kProductpage);
  for (const char* path : {"/reviews?page=2", "/reviews#top", "/reviews/1?x=/admin"}) {
    auto headers = request("GET", path);
    EXPECT_EQ(decode(headers), http::FilterStatus::kContinue) << path;
  }
  // A query cannot smuggle an allowed path in either.
  auto headers = request("GET", "/admin?/reviews/1");
  expectDenied(decode(headers));
  EXPECT_EQ(count("default/reviews-viewer", "allowed"), 3);
}

TEST_F(RbacHttpFilterTest, ForgedPrincipalHeaderIsReplaced) {
  configure(kReviewsViewer);
  connect(kProductpage);
  auto headers = request("GET", "/reviews/1");
  headers.add("x-remora-peer-principal", "spiffe://cluster.local/ns/kube-system/sa/admin");
  headers.add("x-remora-peer-principal", "second");
  EXPECT_EQ(decode(headers), http::FilterStatus::kContinue);
  size_t values = 0;
  for (const auto& [name, value] : headers.entries()) {
    if (name != "x-remora-peer-principal") continue;
    ++values;
    EXPECT_EQ(value, kProductpage);
  }
  EXPECT_EQ(values, 1u);
}

TEST_F(RbacHttpFilterTest, PlaintextPeerHasNoIdentityAndForgedHeaderIsStripped) {
  configure(kReviewsViewer);
  connect("plaintext");
  auto reviews = request("GET", "/reviews/1");
  expectDenied(decode(reviews));

  auto open = request("GET", "/public/index.html");
  open.add("x-remora-peer-principal", kProductpage);
  EXPECT_EQ(decode(open), http::FilterStatus::kContinue);
  EXPECT_FALSE(open.has("x-remora-peer-principal"));
  EXPECT_EQ(count("default/public", "allowed"), 1);
}

TEST_F(RbacHttpFilterTest, ForgedHeaderCannotSatisfyACondition) {
  // A policy that trusts the forwarded header would be fooled if it were evaluated first.
  configure(R"(
    stat_prefix: 'reviews'
    forward_principal_header: 'x-remora-peer-principal'
    rules { policies { name: 'ns/by-header' action: ALLOW rules {
      when { key: 'request.headers[x-remora-peer-principal]' values: '*' } } } })");
  connect("plaintext");
  auto headers = request("GET", "/");
  headers.add("x-remora-peer-principal", kProductpage);
  expectDenied(decode(headers));
}

TEST_F(RbacHttpFilterTest, WithoutForwardHeaderConfiguredClientHeadersAreLeftAlone) {
  configure("stat_prefix: 'reviews'");
  connect(kProductpage);
  auto headers = request("GET", "/");
  headers.add("x-remora-peer-principal", "whatever");
  EXPECT_EQ(decode(headers), http::FilterStatus::kContinue);
  EXPECT_EQ(headers.get("x-remora-peer-principal"), "whatever");
  EXPECT_EQ(count("", "allowed"), 1);
}

TEST_F(RbacHttpFilterTest, DenyPolicyIsNamedInCountersAndDetails) {
  configure(R"(
    stat_prefix: 'reviews'
    rules {
      policies { name: 'ns/no-delete' action: DENY rules { to { methods: 'DELETE' } } }
      policies { name: 'ns/audit-writes' action: AUDIT rules { to { not_methods: 'GET' } } }
    })");
  connect(kProductpage);
  auto del = request("DELETE", "/reviews/1");
  expectDenied(decode(del));
  EXPECT_EQ(callbacks_->local_details, "rbac_access_denied_matched_policy[ns/no-delete]");
  auto get = request("GET", "/reviews/1");
  EXPECT_EQ(decode(get), http::FilterStatus::kContinue);
  EXPECT_EQ(count("ns/no-delete", "denied"), 1);
  EXPECT_EQ(count("", "allowed"), 1);
  // Audited whatever the decision: the DELETE was audited and denied.
  EXPECT_EQ(count("ns/audit-writes", "audited"), 1);
}

TEST_F(RbacHttpFilterTest, RepeatedHeadersAreJoinedForConditions) {
  configure(R"(
    stat_prefix: 'reviews'
    rules { policies { name: 'ns/canary' action: ALLOW rules {
      when { key: 'request.headers[x-tier]' values: 'gold,canary' } } } })");
  connect(kProductpage);
  auto both = request("GET", "/");
  both.add("x-tier", "gold");
  both.add("x-tier", "canary");
  EXPECT_EQ(decode(both), http::FilterStatus::kContinue);
  auto one = request("GET", "/");
  one.add("x-tier", "gold");
  expectDenied(decode(one));
}

TEST_F(RbacHttpFilterTest, HostAndConnectionAttributesAreMatched) {
  configure(R"(
    stat_prefix: 'reviews'
    rules { policies { name: 'ns/internal-reviews' action: ALLOW rules {
      from { ip_blocks: '10.0.0.0/8' }
      to { hosts: 'reviews.default.svc.cluster.local' ports: '9080' } } } })");
  connect(kProductpage, "10.1.2.3:40000", "10.0.0.9:9080");
  auto ok = request("GET", "/", "Reviews.default.svc.cluster.local:9080");
  EXPECT_EQ(decode(ok), http::FilterStatus::kContinue);
  auto other_host = request("GET", "/", "ratings.default.svc.cluster.local");
  expectDenied(decode(other_host));

  connect(kProductpage, "192.168.0.7:40000", "10.0.0.9:9080");
  auto outside = request("GET", "/");
  expectDenied(decode(outside));
  connect(kProductpage, "10.1.2.3:40000", "10.0.0.9:8080");
  auto other_port = request("GET", "/");
  expectDenied(decode(other_port));
}

TEST(RbacHttpFilterFactoryTest, IsRegisteredAndReportsBadConfigWithItsPath) {
  const auto* factory =
      config::Registry<config::HttpFilterConfigFactory>::find("remora.filters.http.rbac");
  ASSERT_NE(factory, nullptr);
  EXPECT_FALSE(factory->isTerminal());
  stats::StoreImpl store;
  TestFactoryContext context(store);
  config::Errors errors;
  auto proto = parseConfig(R"(
    forward_principal_header: 'bad header'
    rules { policies { name: 'ns/x' rules { to { ports: '70000' } } } })");
  auto cb =
      factory->createFilterFactory(proto, "hcm.http_filters[0].typed_config", context, errors);
  EXPECT_FALSE(cb);
  ASSERT_EQ(errors.lines().size(), 2u) << errors.joined();
  EXPECT_EQ(errors.lines()[0].rfind(
                "hcm.http_filters[0].typed_config.rules.policies[0].rules[0].to[0].ports[0]: ", 0),
            0u)
      << errors.joined();
  EXPECT_EQ(
      errors.lines()[1].rfind("hcm.http_filters[0].typed_config.forward_principal_header: ", 0), 0u)
      << errors.joined();

  config::Errors none;
  auto good = factory->createFilterFactory(parseConfig(""), "p", context, none);
  EXPECT_TRUE(good);
  EXPECT_TRUE(none.empty());
  // Without a stat_prefix, the counters are labelled with the listener's name.
  EXPECT_EQ(decisions(store, "http", "inbound", "", "allowed"), 0);
}

}  // namespace
}  // namespace remora::filters::rbac
