// The ADS client against a scripted control plane on loopback: requests, ACKs and NACKs with
// versions and nonces, named interest, reconnects, and delta subscriptions and removals.

#include "source/common/config/ads_client.h"

#include <algorithm>

#include "gtest/gtest.h"
#include "remora/config/cluster/v1/cluster.pb.h"
#include "remora/config/endpoint/v1/endpoint.pb.h"
#include "source/common/common/random_generator.h"
#include "source/common/event/libevent_dispatcher.h"
#include "source/common/stats/store_impl.h"
#include "test/common/config/fake_control_plane.h"
#include "test/common/network/test_utils.h"

namespace remora::config {
namespace {

using network::test::runUntil;
using service::discovery::v1::DeltaDiscoveryResponse;
using service::discovery::v1::DiscoveryResponse;

// Applies everything except resources whose name starts with "bad".
class Recorder : public SubscriptionCallbacks {
 public:
  void onResourceUpdate(std::string_view type_url, const std::vector<DecodedResource>& upserts,
                        const std::vector<std::string>& removed, UpdateOutcome& outcome) override {
    for (const auto& resource : upserts) {
      if (resource.name.rfind("bad", 0) == 0) {
        outcome.reject(resource.name, "cluster \"" + resource.name + "\".connect_timeout",
                       "must be positive");
        continue;
      }
      applied.push_back(std::string(type_url.substr(type_url.rfind('.') + 1)) + ":" +
                        resource.name);
    }
    for (const auto& name : removed) this->removed.push_back(name);
  }
  std::vector<std::string> applied;
  std::vector<std::string> removed;
};

google::protobuf::Any cluster(const std::string& name, int timeout_s = 1) {
  cluster::v1::Cluster c;
  c.set_name(name);
  c.mutable_connect_timeout()->set_seconds(timeout_s);
  google::protobuf::Any any;
  any.PackFrom(c);
  return any;
}

google::protobuf::Any endpoints(const std::string& name) {
  endpoint::v1::ClusterLoadAssignment c;
  c.set_cluster_name(name);
  google::protobuf::Any any;
  any.PackFrom(c);
  return any;
}

DiscoveryResponse sotw(const std::string& version, const std::string& nonce,
                       std::vector<google::protobuf::Any> resources,
                       std::string_view type = kClusterType) {
  DiscoveryResponse response;
  response.set_version_info(version);
  response.set_nonce(nonce);
  response.set_type_url(std::string(type));
  for (auto& r : resources) *response.add_resources() = r;
  return response;
}

class AdsClientTest : public ::testing::Test {
 protected:
  void startClient(bool delta) {
    core::v1::ApiConfigSource source;
    source.set_api_type(delta ? core::v1::ApiConfigSource::DELTA_GRPC
                              : core::v1::ApiConfigSource::GRPC);
    source.mutable_address()->mutable_socket_address()->set_address("127.0.0.1");
    source.mutable_address()->mutable_socket_address()->set_port_value(control_plane_.port());
    source.mutable_reconnect_base_interval()->set_nanos(20 * 1000 * 1000);
    source.mutable_reconnect_max_interval()->set_nanos(100 * 1000 * 1000);
    core::v1::Node node;
    node.set_id("sidecar~10.0.0.1~productpage-v1.default");
    node.set_namespace_("default");
    client_ = std::make_unique<AdsClient>(dispatcher_, source, node, recorder_, store_, random_);
    client_->setInterest(kClusterType, {}, true);
    client_->start();
  }
  bool waitRequests(size_t n) {
    return runUntil(dispatcher_, [&] { return control_plane_.requests().size() >= n; });
  }

  event::LibeventDispatcher dispatcher_{"test"};
  test::FakeControlPlane control_plane_{dispatcher_};
  stats::StoreImpl store_;
  MersenneRandom random_;
  Recorder recorder_;
  std::unique_ptr<AdsClient> client_;
};

TEST_F(AdsClientTest, AcksEachVersionWithItsNonce) {
  startClient(false);
  ASSERT_TRUE(waitRequests(1));
  EXPECT_EQ(control_plane_.lastPath(),
            "/remora.service.discovery.v1.AggregatedDiscoveryService/StreamAggregatedResources");
  auto first = control_plane_.sotwRequests()[0];
  EXPECT_EQ(first.type_url(), kClusterType);
  EXPECT_EQ(first.node().id(), "sidecar~10.0.0.1~productpage-v1.default");
  EXPECT_EQ(first.version_info(), "");
  EXPECT_EQ(first.response_nonce(), "");
  EXPECT_EQ(first.resource_names_size(), 0);  // wildcard

  control_plane_.send(sotw("v1", "n1", {cluster("a"), cluster("b")}));
  ASSERT_TRUE(waitRequests(2));
  auto ack = control_plane_.sotwRequests()[1];
  EXPECT_EQ(ack.version_info(), "v1");
  EXPECT_EQ(ack.response_nonce(), "n1");
  EXPECT_FALSE(ack.has_error_detail());
  EXPECT_FALSE(ack.has_node());  // only on the stream's first request
  EXPECT_EQ(recorder_.applied, (std::vector<std::string>{"Cluster:a", "Cluster:b"}));

  // The whole set again, with b gone and a unchanged: only the removal is applied.
  control_plane_.send(sotw("v2", "n2", {cluster("a")}));
  ASSERT_TRUE(waitRequests(3));
  EXPECT_EQ(control_plane_.sotwRequests()[2].version_info(), "v2");
  EXPECT_EQ(control_plane_.sotwRequests()[2].response_nonce(), "n2");
  EXPECT_EQ(recorder_.applied.size(), 2u);
  EXPECT_EQ(recorder_.removed, (std::vector<std::string>{"b"}));
}

TEST_F(AdsClientTest, NacksWithTheErrorAndKeepsTheLastGoodVersion) {
  startClient(false);
  ASSERT_TRUE(waitRequests(1));
  control_plane_.send(sotw("v1", "n1", {cluster("a")}));
  ASSERT_TRUE(waitRequests(2));
  control_plane_.send(sotw("v2", "n2", {cluster("a", 2), cluster("bad-one")}));
  ASSERT_TRUE(waitRequests(3));
  auto nack = control_plane_.sotwRequests()[2];
  EXPECT_EQ(nack.version_info(), "v1");
  EXPECT_EQ(nack.response_nonce(), "n2");
  ASSERT_TRUE(nack.has_error_detail());
  EXPECT_EQ(nack.error_detail().code(), 3);
  EXPECT_NE(nack.error_detail().message().find("cluster \"bad-one\".connect_timeout: must be "
                                               "positive"),
            std::string::npos)
      << nack.error_detail().message();
  // The good resource of that response still applied.
  EXPECT_EQ(recorder_.applied.back(), "Cluster:a");
  EXPECT_EQ(recorder_.applied.size(), 2u);
  // Sent again unchanged, the bad one is offered to the proxy again (it was not accepted).
  control_plane_.send(sotw("v3", "n3", {cluster("a", 2)}));
  ASSERT_TRUE(waitRequests(4));
  EXPECT_EQ(control_plane_.sotwRequests()[3].version_info(), "v3");
  EXPECT_FALSE(control_plane_.sotwRequests()[3].has_error_detail());
  EXPECT_NE(
      store_.prometheusText().find("remora_xds_updates_total{result=\"nack\",type=\"Cluster\"} 1"),
      std::string::npos);
}

TEST_F(AdsClientTest, NamedInterestIsSentAsItChanges) {
  startClient(false);
  ASSERT_TRUE(waitRequests(1));
  client_->setInterest(kEndpointType, {"x"}, false);
  ASSERT_TRUE(waitRequests(2));
  auto request = control_plane_.sotwRequests()[1];
  EXPECT_EQ(request.type_url(), kEndpointType);
  ASSERT_EQ(request.resource_names_size(), 1);
  EXPECT_EQ(request.resource_names(0), "x");
  client_->setInterest(kEndpointType, {"x", "y"}, false);
  ASSERT_TRUE(waitRequests(3));
  EXPECT_EQ(control_plane_.sotwRequests()[2].resource_names_size(), 2);
  // Named types are not removed by what a response leaves out.
  control_plane_.send(sotw("e1", "n1", {endpoints("x")}, kEndpointType));
  ASSERT_TRUE(waitRequests(4));
  EXPECT_EQ(recorder_.applied, (std::vector<std::string>{"ClusterLoadAssignment:x"}));
  EXPECT_TRUE(recorder_.removed.empty());
}

TEST_F(AdsClientTest, ReconnectsAndAsksAgainWithWhatItHas) {
  startClient(false);
  client_->setInterest(kEndpointType, {"x"}, false);
  ASSERT_TRUE(waitRequests(2));
  control_plane_.send(sotw("v1", "n1", {cluster("a")}));
  ASSERT_TRUE(waitRequests(3));
  control_plane_.dropConnections();
  ASSERT_TRUE(runUntil(dispatcher_, [&] { return control_plane_.streams() >= 2; }));
  ASSERT_TRUE(waitRequests(5));
  auto again = control_plane_.sotwRequests();
  // Clusters first (make before break), with the version held and the node again.
  EXPECT_EQ(again[3].type_url(), kClusterType);
  EXPECT_EQ(again[3].version_info(), "v1");
  EXPECT_TRUE(again[3].has_node());
  EXPECT_EQ(again[4].type_url(), kEndpointType);
  // A call ended by the server is retried too.
  control_plane_.endStream(14);
  ASSERT_TRUE(runUntil(dispatcher_, [&] { return control_plane_.streams() >= 3; }));
  EXPECT_TRUE(runUntil(dispatcher_, [&] { return client_->connected(); }));
  EXPECT_NE(store_.prometheusText().find("remora_xds_stream_closes_total 2"), std::string::npos);
}

TEST_F(AdsClientTest, KeepsRetryingWhileTheControlPlaneIsDown) {
  control_plane_.stopListening();
  startClient(false);
  EXPECT_TRUE(runUntil(dispatcher_, [&] {
    return store_.prometheusText().find("remora_xds_stream_closes_total 3") != std::string::npos;
  }));
  EXPECT_FALSE(client_->connected());
}

TEST_F(AdsClientTest, DeltaSubscribesAcksAndRemoves) {
  startClient(true);
  client_->setInterest(kEndpointType, {"x"}, false);
  ASSERT_TRUE(waitRequests(2));
  EXPECT_EQ(control_plane_.lastPath(),
            "/remora.service.discovery.v1.AggregatedDiscoveryService/DeltaAggregatedResources");
  auto requests = control_plane_.deltaRequests();
  EXPECT_EQ(requests[0].type_url(), kClusterType);
  EXPECT_TRUE(requests[0].has_node());
  EXPECT_EQ(requests[0].resource_names_subscribe_size(), 0);  // wildcard
  EXPECT_EQ(requests[1].type_url(), kEndpointType);
  ASSERT_EQ(requests[1].resource_names_subscribe_size(), 1);
  EXPECT_EQ(requests[1].resource_names_subscribe(0), "x");

  DeltaDiscoveryResponse response;
  response.set_type_url(std::string(kClusterType));
  response.set_nonce("d1");
  auto* r = response.add_resources();
  r->set_name("a");
  r->set_version("1");
  *r->mutable_resource() = cluster("a");
  control_plane_.send(response);
  ASSERT_TRUE(waitRequests(3));
  auto ack = control_plane_.deltaRequests()[2];
  EXPECT_EQ(ack.response_nonce(), "d1");
  EXPECT_FALSE(ack.has_error_detail());
  EXPECT_EQ(recorder_.applied, (std::vector<std::string>{"Cluster:a"}));

  // A NACK names the bad resource.
  response.set_nonce("d2");
  response.mutable_resources(0)->set_name("bad");
  *response.mutable_resources(0)->mutable_resource() = cluster("bad");
  control_plane_.send(response);
  ASSERT_TRUE(waitRequests(4));
  auto nack = control_plane_.deltaRequests()[3];
  EXPECT_EQ(nack.response_nonce(), "d2");
  EXPECT_NE(nack.error_detail().message().find("bad"), std::string::npos);

  // Unsubscribing is sent as such.
  client_->setInterest(kEndpointType, {}, false);
  ASSERT_TRUE(waitRequests(5));
  auto unsubscribe = control_plane_.deltaRequests()[4];
  ASSERT_EQ(unsubscribe.resource_names_unsubscribe_size(), 1);
  EXPECT_EQ(unsubscribe.resource_names_unsubscribe(0), "x");

  // A new stream tells the versions held.
  control_plane_.dropConnections();
  ASSERT_TRUE(runUntil(dispatcher_, [&] { return control_plane_.streams() >= 2; }));
  ASSERT_TRUE(waitRequests(6));
  auto resumed = control_plane_.deltaRequests()[5];
  EXPECT_EQ(resumed.type_url(), kClusterType);
  ASSERT_EQ(resumed.initial_resource_versions().count("a"), 1u);
  EXPECT_EQ(resumed.initial_resource_versions().at("a"), "1");

  // Removals reach the proxy.
  DeltaDiscoveryResponse removal;
  removal.set_type_url(std::string(kClusterType));
  removal.set_nonce("d3");
  removal.add_removed_resources("a");
  control_plane_.send(removal);
  ASSERT_TRUE(waitRequests(7));
  EXPECT_EQ(recorder_.removed, (std::vector<std::string>{"a"}));
}

}  // namespace
}  // namespace remora::config
