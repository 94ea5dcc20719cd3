// The RBAC network filter on real connections (a socketpair, a stand-in TLS transport): the
// connection is decided once, before the next filter sees it; on TLS only after the handshake
// proves the peer's identity; a denied connection is closed and the next filter never runs.

#include "filters/network/rbac/rbac_network_filter.h"

#include "gtest/gtest.h"
#include "source/common/event/libevent_dispatcher.h"
#include "source/common/network/raw_transport_socket.h"
#include "source/common/stats/store_impl.h"
#include "test/common/network/test_utils.h"
#include "test/filters/network/rbac/rbac_test_helpers.h"

namespace remora::filters::rbac {
namespace {

using network::test::RecordingCallbacks;
using network::test::RecordingFilter;
using network::test::runLoopTurns;
using network::test::runUntil;
using testing::decisions;
using testing::FakeTlsTransport;
using testing::parseConfig;
using testing::TestConnection;

constexpr const char* kProductpage = "spiffe://cluster.local/ns/default/sa/productpage";
constexpr const char* kRatings = "spiffe://cluster.local/ns/default/sa/ratings";

constexpr const char* kProductpageOnly = R"(
  stat_prefix: 'reviews'
  rules {
    policies {
      name: 'default/reviews-tcp'
      action: ALLOW
      rules { from { principals: 'cluster.local/ns/default/sa/productpage' } }
    }
  })";

class RbacNetworkFilterTest : public ::testing::Test {
 protected:
  // A connection with the RBAC filter, then a recording filter standing for tcp_proxy.
  std::unique_ptr<TestConnection> connect(const std::string& config_text,
                                          network::TransportSocketPtr transport,
                                          const std::string& remote = "10.1.2.3:45678",
                                          const std::string& local = "10.0.0.9:9080") {
    config::Errors errors;
    config_ = RbacFilterConfig::create(parseConfig(config_text), RbacFilterConfig::Kind::kNetwork,
                                       "typed_config", "inbound", store_, errors);
    EXPECT_TRUE(errors.empty()) << errors.joined();
    auto test = std::make_unique<TestConnection>(dispatcher_, std::move(transport), remote, local);
    next_ = std::make_shared<RecordingFilter>();
    test->connection->addConnectionCallbacks(callbacks_);
    test->connection->addReadFilter(std::make_shared<RbacNetworkFilter>(config_));
    test->connection->addReadFilter(next_);
    test->connection->initializeReadFilters();
    return test;
  }
  std::unique_ptr<TestConnection> connectPlaintext(const std::string& config_text,
                                                   const std::string& remote = "10.1.2.3:45678",
                                                   const std::string& local = "10.0.0.9:9080") {
    return connect(config_text, std::make_unique<network::RawTransportSocket>(), remote, local);
  }
  double count(const std::string& policy, const std::string& decision,
               const std::string& prefix = "reviews") {
    return decisions(store_, "network", prefix, policy, decision).value_or(-1);
  }

  event::LibeventDispatcher dispatcher_{"test"};
  stats::StoreImpl store_;
  std::shared_ptr<const RbacFilterConfig> config_;
  RecordingCallbacks callbacks_;
  std::shared_ptr<RecordingFilter> next_;
};

TEST_F(RbacNetworkFilterTest, TlsPeerIsDecidedAfterTheHandshakeThenBytesFlow) {
  auto test = connect(kProductpageOnly, FakeTlsTransport::pending());
  // The identity is not known yet: the next filter must not start (tcp_proxy would connect).
  EXPECT_EQ(next_->new_connection_calls, 0);
  EXPECT_TRUE(test->connection->handshakePending());
  test->send(std::string("HELLO ") + kProductpage + "\nping");
  ASSERT_TRUE(runUntil(dispatcher_, [&] { return next_->received == "ping"; }));
  EXPECT_EQ(next_->new_connection_calls, 1);
  EXPECT_EQ(test->connection->state(), network::Connection::State::kOpen);
  test->send("pong");
  ASSERT_TRUE(runUntil(dispatcher_, [&] { return next_->received == "pingpong"; }));
  EXPECT_EQ(count("default/reviews-tcp", "allowed"), 1);
  EXPECT_EQ(count("", "denied"), 0);
}

TEST_F(RbacNetworkFilterTest, TlsHandshakeWithoutDataStartsTheNextFilter) {
  // Server-speaks-first protocols: nothing follows the handshake, the upstream must still go.
  auto test = connect(kProductpageOnly, FakeTlsTransport::pending());
  test->send(std::string("HELLO ") + kProductpage + "\n");
  ASSERT_TRUE(runUntil(dispatcher_, [&] { return next_->new_connection_calls == 1; }));
  EXPECT_EQ(next_->received, "");
}

TEST_F(RbacNetworkFilterTest, OtherIdentityIsClosedBeforeTheNextFilterRuns) {
  auto test = connect(kProductpageOnly, FakeTlsTransport::pending());
  test->send(std::string("HELLO ") + kRatings + "\nsecret request");
  ASSERT_TRUE(runUntil(dispatcher_, [&] { return test->peerSawClose(); }));
  EXPECT_EQ(test->connection->state(), network::Connection::State::kClosed);
  EXPECT_EQ(next_->new_connection_calls, 0);
  EXPECT_EQ(next_->data_calls, 0);
  EXPECT_TRUE(callbacks_.saw(network::ConnectionEvent::kLocalClose));
  EXPECT_EQ(count("", "denied"), 1);
  EXPECT_EQ(count("default/reviews-tcp", "allowed"), 0);
}

TEST_F(RbacNetworkFilterTest, TlsWithoutClientCertificateHasNoPrincipal) {
  auto test = connect(kProductpageOnly, FakeTlsTransport::pending());
  test->send("HELLO \nhi");
  ASSERT_TRUE(runUntil(dispatcher_, [&] { return test->peerSawClose(); }));
  EXPECT_EQ(next_->new_connection_calls, 0);
  EXPECT_EQ(count("", "denied"), 1);
}

TEST_F(RbacNetworkFilterTest, FailedHandshakeIsNotADecision) {
  auto test = connect(kProductpageOnly, FakeTlsTransport::pending());
  test->send("FAIL\n");
  ASSERT_TRUE(runUntil(dispatcher_, [&] { return test->peerSawClose(); }));
  EXPECT_EQ(next_->new_connection_calls, 0);
  EXPECT_EQ(count("", "denied"), 0);
  EXPECT_EQ(count("default/reviews-tcp", "allowed"), 0);
}

TEST_F(RbacNetworkFilterTest, PlaintextPeerHasNoIdentityAndIsDeniedAtOnce) {
  auto test = connectPlaintext(kProductpageOnly);
  // Decided in onNewConnection: no handshake to wait for.
  EXPECT_EQ(test->connection->state(), network::Connection::State::kClosed);
  EXPECT_EQ(next_->new_connection_calls, 0);
  EXPECT_TRUE(test->peerSawClose());
  EXPECT_EQ(count("", "denied"), 1);
}

TEST_F(RbacNetworkFilterTest, PlaintextAllowedBySourceAddressPassesBytesOn) {
  constexpr const char* kInternal = R"(
    stat_prefix: 'reviews'
    rules { policies { name: 'ns/internal' action: ALLOW rules { from { ip_blocks: '10.0.0.0/8' } } } })";
  auto inside = connectPlaintext(kInternal, "10.20.30.40:1000");
  EXPECT_EQ(next_->new_connection_calls, 1);
  inside->send("hello");
  ASSERT_TRUE(runUntil(dispatcher_, [&] { return next_->received == "hello"; }));
  EXPECT_EQ(count("ns/internal", "allowed"), 1);

  auto outside = connectPlaintext(kInternal, "192.168.1.1:1000");
  EXPECT_EQ(next_->new_connection_calls, 0);
  EXPECT_EQ(outside->connection->state(), network::Connection::State::kClosed);
  EXPECT_EQ(count("", "denied"), 1);
}

TEST_F(RbacNetworkFilterTest, DestinationPortIsTheConnectionsLocalPort) {
  constexpr const char* kPort = R"(
    stat_prefix: 'reviews'
    rules { policies { name: 'ns/port' action: ALLOW rules { to { ports: '9080' } } } })";
  auto allowed = connectPlaintext(kPort, "10.1.2.3:5000", "10.0.0.9:9080");
  EXPECT_EQ(next_->new_connection_calls, 1);
  auto denied = connectPlaintext(kPort, "10.1.2.3:5000", "10.0.0.9:9090");
  EXPECT_EQ(next_->new_connection_calls, 0);
  EXPECT_EQ(count("ns/port", "allowed"), 1);
  EXPECT_EQ(count("", "denied"), 1);
}

TEST_F(RbacNetworkFilterTest, DenyPolicyWithHttpOnlyFieldsDeniesTcp) {
  // As in Istio: on TCP a DENY rule ignores what it cannot see, so it denies more.
  constexpr const char* kDenyPost = R"(
    stat_prefix: 'reviews'
    rules { policies { name: 'ns/no-post' action: DENY rules { to { methods: 'POST' } } } })";
  auto test = connectPlaintext(kDenyPost);
  EXPECT_EQ(test->connection->state(), network::Connection::State::kClosed);
  EXPECT_EQ(count("ns/no-post", "denied"), 1);
}

TEST_F(RbacNetworkFilterTest, AuditIsCountedBesidesTheDecision) {
  constexpr const char* kAudit = R"(
    stat_prefix: 'reviews'
    rules {
      policies { name: 'ns/audit-all' action: AUDIT rules {} }
      policies { name: 'ns/audit-other' action: AUDIT rules { from { ip_blocks: '172.16.0.0/12' } } }
    })";
  auto test = connectPlaintext(kAudit);
  EXPECT_EQ(next_->new_connection_calls, 1);
  EXPECT_EQ(count("", "allowed"), 1);
  EXPECT_EQ(count("ns/audit-all", "audited"), 1);
  EXPECT_EQ(count("ns/audit-other", "audited"), 0);
}

TEST_F(RbacNetworkFilterTest, EmptyRulesAllowEverythingUnderTheListenersName) {
  auto test = connectPlaintext("");
  EXPECT_EQ(next_->new_connection_calls, 1);
  EXPECT_EQ(count("", "allowed", "inbound"), 1);
}

TEST_F(RbacNetworkFilterTest, BytesBeforeTheDecisionWaitAndAreDeliveredOnce) {
  auto test = connect(kProductpageOnly, FakeTlsTransport::pending());
  // The handshake line in two pieces: the first read decides nothing.
  test->send("HELLO spiffe://cluster.local/ns/default/");
  runLoopTurns(dispatcher_, 5);
  EXPECT_EQ(next_->new_connection_calls, 0);
  test->send("sa/productpage\nabc");
  ASSERT_TRUE(runUntil(dispatcher_, [&] { return next_->received == "abc"; }));
  runLoopTurns(dispatcher_, 5);
  EXPECT_EQ(next_->received, "abc");
  EXPECT_EQ(next_->new_connection_calls, 1);
}

}  // namespace
}  // namespace remora::filters::rbac
