// The aggregated discovery service in process (plaintext, no authenticator) against a real
// gRPC C++ client, across new generations of the manifests: a delta stream gets only the
// resources that changed and the names removed, an unchanged generation sends nothing, a
// reconnect with initial_resource_versions gets only what differs, streams asking for the
// same names share one interned subscription, and a state-of-the-world stream is not sent an
// unchanged version again.

#include "source/pilot/ads_server.h"

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <algorithm>

namespace remora::pilot {
namespace {

using namespace std::chrono_literals;
using service::discovery::v1::AggregatedDiscoveryService;
using service::discovery::v1::DeltaDiscoveryRequest;
using service::discovery::v1::DeltaDiscoveryResponse;
using service::discovery::v1::DiscoveryRequest;
using service::discovery::v1::DiscoveryResponse;
using Names = std::vector<std::string>;

constexpr char kClusterType[] = "type.googleapis.com/remora.config.cluster.v1.Cluster";
constexpr char kEndpointType[] =
    "type.googleapis.com/remora.config.endpoint.v1.ClusterLoadAssignment";

// Services with their endpoints; `reviews_ip` is the one endpoint of reviews.
std::string manifests(const std::string& reviews_ip, bool with_ratings = true) {
  std::string text = R"(
apiVersion: v1
kind: Service
metadata: {name: reviews, namespace: default}
spec:
  clusterIP: 10.96.0.20
  ports: [{name: http, port: 9080}]
---
apiVersion: v1
kind: Endpoints
metadata: {name: reviews, namespace: default}
subsets:
- addresses: [{ip: )" +
                     reviews_ip + R"(}]
  ports: [{name: http, port: 9080}]
)";
  if (with_ratings) {
    text += R"(---
apiVersion: v1
kind: Service
metadata: {name: ratings, namespace: default}
spec:
  clusterIP: 10.96.0.30
  ports: [{name: http, port: 9080}]
---
apiVersion: v1
kind: Endpoints
metadata: {name: ratings, namespace: default}
subsets:
- addresses: [{ip: 10.1.0.30}]
  ports: [{name: http, port: 9080}]
)";
  }
  return text;
}

config::core::v1::Node node() {
  config::core::v1::Node out;
  out.set_id("productpage-1.default");
  out.set_namespace_("default");
  return out;
}

Names namesOf(const DeltaDiscoveryResponse& response) {
  Names out;
  for (const auto& resource : response.resources()) out.push_back(resource.name());
  std::sort(out.begin(), out.end());
  return out;
}

// The names containing `part`.
Names containing(const Names& names, const std::string& part) {
  Names out;
  for (const auto& name : names) {
    if (name.find(part) != std::string::npos) out.push_back(name);
  }
  return out;
}

class AdsServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    translate(manifests("10.1.0.20"));
    grpc::ServerBuilder builder;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port_);
    builder.RegisterService(&service_);
    server_ = builder.BuildAndStart();
    ASSERT_NE(port_, 0);
    channel_ = grpc::CreateChannel("127.0.0.1:" + std::to_string(port_),
                                   grpc::InsecureChannelCredentials());
    stub_ = AggregatedDiscoveryService::NewStub(channel_);
  }
  void TearDown() override { server_->Shutdown(std::chrono::system_clock::now() + 5s); }

  void translate(const std::string& text) {
    std::vector<Object> objects;
    std::vector<ManifestError> errors;
    parseManifestText("test.yaml", text, objects, errors);
    ASSERT_TRUE(errors.empty()) << errors.front().message;
    cache_.update(std::make_shared<const Translator>(std::move(objects), TranslateOptions{}), {},
                  0us);
  }

  SnapshotCache cache_;
  AdsService service_{cache_};
  int port_ = 0;
  std::unique_ptr<grpc::Server> server_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<AggregatedDiscoveryService::Stub> stub_;
};

// One delta stream: CDS by wildcard, then EDS for the clusters it got, every response ACKed.
class DeltaCall {
 public:
  explicit DeltaCall(AggregatedDiscoveryService::Stub& stub) {
    context_.set_deadline(std::chrono::system_clock::now() + 20s);
    stream_ = stub.DeltaAggregatedResources(&context_);
  }
  ~DeltaCall() {
    context_.TryCancel();
    stream_->Finish().ok();
  }

  void request(DeltaDiscoveryRequest request) {
    if (first_) *request.mutable_node() = node();
    first_ = false;
    ASSERT_TRUE(stream_->Write(request));
  }
  void subscribe(const std::string& type, const Names& names) {
    DeltaDiscoveryRequest out;
    out.set_type_url(type);
    for (const auto& name : names) out.add_resource_names_subscribe(name);
    request(out);
  }
  // The next response (ACKed), or a failure when the stream ends first.
  DeltaDiscoveryResponse next() {
    DeltaDiscoveryResponse response;
    EXPECT_TRUE(stream_->Read(&response)) << "the stream ended";
    DeltaDiscoveryRequest ack;
    ack.set_type_url(response.type_url());
    ack.set_response_nonce(response.nonce());
    request(ack);
    return response;
  }
  // CDS, then EDS for every cluster; both responses.
  std::pair<DeltaDiscoveryResponse, DeltaDiscoveryResponse> start() {
    subscribe(kClusterType, {});
    auto clusters = next();
    EXPECT_EQ(clusters.type_url(), kClusterType);
    subscribe(kEndpointType, namesOf(clusters));
    auto endpoints = next();
    EXPECT_EQ(endpoints.type_url(), kEndpointType);
    return {clusters, endpoints};
  }

 private:
  grpc::ClientContext context_;
  std::unique_ptr<grpc::ClientReaderWriter<DeltaDiscoveryRequest, DeltaDiscoveryResponse>> stream_;
  bool first_ = true;
};

TEST_F(AdsServerTest, DeltaSendsOnlyTheChangedEndpoints) {
  DeltaCall call(*stub_);
  auto [clusters, endpoints] = call.start();
  Names reviews = containing(namesOf(endpoints), "reviews");
  ASSERT_FALSE(reviews.empty());
  ASSERT_FALSE(containing(namesOf(endpoints), "ratings").empty());
  // A generation that changes nothing, then one that moves reviews' endpoint: the next
  // response is the second's, with reviews' assignments only.
  translate(manifests("10.1.0.20"));
  translate(manifests("10.1.0.21"));
  auto change = call.next();
  EXPECT_EQ(change.type_url(), kEndpointType);
  EXPECT_EQ(change.system_version_info(), "3");
  EXPECT_EQ(namesOf(change), reviews);
  EXPECT_EQ(change.removed_resources_size(), 0);
  EXPECT_NE(change.resources(0).resource().value().find("10.1.0.21"), std::string::npos);
}

TEST_F(AdsServerTest, DeltaSendsTheNamesRemoved) {
  DeltaCall call(*stub_);
  auto [clusters, endpoints] = call.start();
  Names ratings_clusters = containing(namesOf(clusters), "ratings");
  Names ratings_endpoints = containing(namesOf(endpoints), "ratings");
  ASSERT_FALSE(ratings_clusters.empty());
  translate(manifests("10.1.0.20", false));
  auto cds = call.next();
  EXPECT_EQ(cds.type_url(), kClusterType);
  EXPECT_EQ(Names(cds.removed_resources().begin(), cds.removed_resources().end()),
            ratings_clusters);
  auto eds = call.next();
  EXPECT_EQ(eds.type_url(), kEndpointType);
  EXPECT_EQ(Names(eds.removed_resources().begin(), eds.removed_resources().end()),
            ratings_endpoints);
  EXPECT_EQ(eds.resources_size(), 0);
}

TEST_F(AdsServerTest, AReconnectGetsOnlyWhatDiffersFromItsVersions) {
  DeltaDiscoveryResponse clusters;
  {
    DeltaCall call(*stub_);
    clusters = call.start().first;
  }
  ASSERT_GE(clusters.resources_size(), 2);
  DeltaCall again(*stub_);
  DeltaDiscoveryRequest request;
  request.set_type_url(kClusterType);
  auto& versions = *request.mutable_initial_resource_versions();
  for (const auto& resource : clusters.resources()) versions[resource.name()] = resource.version();
  const std::string stale = clusters.resources(0).name();
  versions[stale] = "0000000000000000";
  versions["outbound|1|gone.default.svc.cluster.local"] = "1";
  again.request(request);
  auto response = again.next();
  EXPECT_EQ(namesOf(response), Names{stale});
  EXPECT_EQ(Names(response.removed_resources().begin(), response.removed_resources().end()),
            Names{"outbound|1|gone.default.svc.cluster.local"});
}

TEST_F(AdsServerTest, StreamsAskingForTheSameNamesShareOneSubscription) {
  DeltaCall one(*stub_);
  DeltaCall two(*stub_);
  auto first = one.start();
  auto second = two.start();
  EXPECT_EQ(namesOf(first.first), namesOf(second.first));
  // The empty set (the wildcard types) and one set of endpoint names, for both streams.
  EXPECT_EQ(service_.nameSets().size(), 2u);
}

TEST_F(AdsServerTest, StateOfTheWorldDoesNotResendAnUnchangedVersion) {
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + 20s);
  auto stream = stub_->StreamAggregatedResources(&context);
  DiscoveryRequest request;
  *request.mutable_node() = node();
  request.set_type_url(kClusterType);
  ASSERT_TRUE(stream->Write(request));
  DiscoveryResponse first;
  ASSERT_TRUE(stream->Read(&first));
  request.clear_node();
  request.set_version_info(first.version_info());
  request.set_response_nonce(first.nonce());
  ASSERT_TRUE(stream->Write(request));  // ACK
  // An unchanged generation (only endpoints change: clusters are the same), then one that
  // removes a service: the next response is the latter's.
  translate(manifests("10.1.0.21"));
  translate(manifests("10.1.0.21", false));
  DiscoveryResponse next;
  ASSERT_TRUE(stream->Read(&next));
  EXPECT_NE(next.version_info(), first.version_info());
  EXPECT_LT(next.resources_size(), first.resources_size());
  EXPECT_EQ(next.nonce(), "2");
  context.TryCancel();
  stream->Finish().ok();
}

}  // namespace
}  // namespace remora::pilot
