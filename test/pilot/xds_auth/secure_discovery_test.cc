// Pilot's TLS port (CaListener) serving the aggregated discovery service with the identity
// checks, in process, against a real gRPC C++ client holding workload certificates signed by
// the mesh's CA: the node a certificate proves is served; another service account's pod,
// another namespace, no client certificate, a certificate from another root are refused; a
// stream ends when its pod goes away or its certificate expires; during a root rotation
// certificates of both roots are accepted.

#include <grpcpp/grpcpp.h>

#include <atomic>
#include <thread>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "remora/service/discovery/v1/discovery.grpc.pb.h"
#include "source/common/crypto/certificate_authority.h"
#include "source/common/crypto/csr.h"
#include "source/common/crypto/key_pair.h"
#include "source/pilot/ads_server.h"
#include "source/pilot/ca/ca_listener.h"
#include "source/pilot/xds_auth/stream_authenticator.h"

namespace remora::pilot::xds_auth {
namespace {

using ::testing::HasSubstr;
using namespace std::chrono_literals;
using service::discovery::v1::AggregatedDiscoveryService;
using service::discovery::v1::DiscoveryRequest;
using service::discovery::v1::DiscoveryResponse;
using std::chrono::system_clock;

constexpr char kServerName[] = "remora-pilot.istio-system.svc";
constexpr char kClusterType[] = "type.googleapis.com/remora.config.cluster.v1.Cluster";

std::string manifests(bool with_reviews_pod) {
  std::string text = R"(
apiVersion: v1
kind: Service
metadata: {name: reviews, namespace: default}
spec:
  clusterIP: 10.96.0.20
  ports: [{name: http, port: 9080}]
---
apiVersion: v1
kind: Pod
metadata: {name: productpage-1, namespace: default}
spec: {serviceAccountName: productpage}
status: {podIP: 10.1.0.11}
)";
  if (with_reviews_pod) {
    text += R"(---
apiVersion: v1
kind: Pod
metadata: {name: reviews-1, namespace: default}
spec: {serviceAccountName: reviews}
status: {podIP: 10.1.0.12}
)";
  }
  return text;
}

// A workload's certificate and key, PEM.
struct Credentials {
  std::string cert;
  std::string key;
};

Credentials workloadCredentials(const crypto::CertificateAuthority& authority,
                                const std::string& ns, const std::string& sa,
                                std::chrono::seconds ttl = 1h) {
  auto key = crypto::KeyPair::generate();
  const std::string id = "spiffe://cluster.local/ns/" + ns + "/sa/" + sa;
  auto csr = crypto::createCsr(*key, id);
  auto leaf = authority.sign(*csr, id, ttl);
  EXPECT_TRUE(leaf.ok()) << leaf.error();
  return {*leaf, *key->privateKeyPem()};
}

config::core::v1::Node node(const std::string& ns, const std::string& sa, const std::string& pod) {
  config::core::v1::Node out;
  out.set_id(pod + "." + ns);
  out.set_namespace_(ns);
  out.set_service_account(sa);
  out.set_workload(pod);
  return out;
}

// One discovery stream of a gRPC C++ client over its own TLS connection.
class DiscoveryCall {
 public:
  DiscoveryCall(uint16_t port, const std::string& roots, const Credentials* credentials) {
    grpc::SslCredentialsOptions tls;
    tls.pem_root_certs = roots;
    if (credentials != nullptr) {
      tls.pem_cert_chain = credentials->cert;
      tls.pem_private_key = credentials->key;
    }
    grpc::ChannelArguments args;
    args.SetSslTargetNameOverride(kServerName);
    args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);  // a connection of its own
    auto channel = grpc::CreateCustomChannel("127.0.0.1:" + std::to_string(port),
                                             grpc::SslCredentials(tls), args);
    stub_ = AggregatedDiscoveryService::NewStub(channel);
    context_.set_deadline(system_clock::now() + 15s);
    stream_ = stub_->StreamAggregatedResources(&context_);
  }

  // Asks for clusters as `as`; OK with the first response, else the status the call ended with.
  grpc::Status ask(const config::core::v1::Node& as, DiscoveryResponse& response) {
    DiscoveryRequest request;
    *request.mutable_node() = as;
    request.set_type_url(kClusterType);
    stream_->Write(request);
    if (stream_->Read(&response)) return grpc::Status::OK;
    return stream_->Finish();
  }
  // Reads until the server ends the stream (or the deadline); its status.
  grpc::Status waitForEnd() {
    DiscoveryResponse ignored;
    while (stream_->Read(&ignored)) {
    }
    return stream_->Finish();
  }

 private:
  std::unique_ptr<AggregatedDiscoveryService::Stub> stub_;
  grpc::ClientContext context_;
  std::unique_ptr<grpc::ClientReaderWriter<DiscoveryRequest, DiscoveryResponse>> stream_;
};

class SecureDiscoveryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto authority = crypto::CertificateAuthority::create();
    ASSERT_TRUE(authority.ok()) << authority.error();
    authority_ = std::move(*authority);
    translate(true);
    listener_ = std::make_unique<ca::CaListener>(
        *authority_, service_, ca::CaListener::Options{"127.0.0.1:0", {kServerName}});
    ASSERT_TRUE(listener_->start(system_clock::now()).ok());
  }
  void TearDown() override { listener_->stop(); }

  void translate(bool with_reviews_pod) {
    std::vector<Object> objects;
    std::vector<ManifestError> errors;
    parseManifestText("test.yaml", manifests(with_reviews_pod), objects, errors);
    ASSERT_TRUE(errors.empty()) << errors.front().message;
    cache_.update(std::make_shared<const Translator>(std::move(objects), TranslateOptions{}), {},
                  0us);
  }

  crypto::CertificateAuthority& authority() { return *authority_; }
  std::unique_ptr<DiscoveryCall> call(const Credentials* credentials) {
    return std::make_unique<DiscoveryCall>(listener_->port(), authority().rootsPem(), credentials);
  }

  std::unique_ptr<crypto::CertificateAuthority> authority_;
  SnapshotCache cache_;
  AuthFailures failures_;
  std::atomic<int64_t> clock_skew_seconds_{0};
  StreamAuthenticator authenticator_{
      "cluster.local",
      [this](const std::string& ns, const std::string& pod) {
        return cache_.podServiceAccount(ns, pod);
      },
      failures_,
      [this] { return system_clock::now() + std::chrono::seconds(clock_skew_seconds_.load()); }};
  AdsService service_{cache_, &authenticator_};
  std::unique_ptr<ca::CaListener> listener_;
};

TEST_F(SecureDiscoveryTest, ServesTheNodeItsCertificateProves) {
  Credentials reviews = workloadCredentials(authority(), "default", "reviews");
  auto stream = call(&reviews);
  DiscoveryResponse response;
  auto status = stream->ask(node("default", "reviews", "reviews-1"), response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(response.type_url(), kClusterType);
  EXPECT_GT(response.resources_size(), 0);
  EXPECT_THAT(failures_.render(), HasSubstr("pilot_xds_authenticated_streams_total 1\n"));
}

TEST_F(SecureDiscoveryTest, RefusesAPodOfAnotherServiceAccount) {
  Credentials reviews = workloadCredentials(authority(), "default", "reviews");
  DiscoveryResponse response;
  // Claiming productpage's node outright...
  auto claimed = call(&reviews)->ask(node("default", "productpage", "productpage-1"), response);
  EXPECT_EQ(claimed.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_THAT(claimed.error_message(), HasSubstr("service account \"productpage\""));
  // ... or its pod under the certificate's own account.
  auto pod = call(&reviews)->ask(node("default", "reviews", "productpage-1"), response);
  EXPECT_EQ(pod.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_THAT(pod.error_message(), HasSubstr("pod \"default/productpage-1\" runs as"));
  EXPECT_EQ(failures_.count(Refusal::kServiceAccountMismatch), 1u);
  EXPECT_EQ(failures_.count(Refusal::kPodServiceAccountMismatch), 1u);
}

TEST_F(SecureDiscoveryTest, RefusesAnotherNamespace) {
  Credentials reviews = workloadCredentials(authority(), "default", "reviews");
  DiscoveryResponse response;
  auto status = call(&reviews)->ask(node("payments", "reviews", "reviews-1"), response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_THAT(status.error_message(), HasSubstr("node namespace \"payments\""));
  EXPECT_EQ(failures_.count(Refusal::kNamespaceMismatch), 1u);
}

TEST_F(SecureDiscoveryTest, RefusesAClientWithoutCertificate) {
  DiscoveryResponse response;
  auto status = call(nullptr)->ask(node("default", "reviews", "reviews-1"), response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_THAT(status.error_message(), HasSubstr("no client certificate"));
  EXPECT_EQ(failures_.count(Refusal::kNoClientCertificate), 1u);
}

TEST_F(SecureDiscoveryTest, RefusesACertificateFromAnotherRoot) {
  auto stranger = crypto::CertificateAuthority::create();
  ASSERT_TRUE(stranger.ok());
  Credentials forged = workloadCredentials(**stranger, "default", "reviews");
  DiscoveryResponse response;
  auto status = call(&forged)->ask(node("default", "reviews", "reviews-1"), response);
  // The handshake fails: the service never sees the call.
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE) << status.error_message();
  EXPECT_THAT(failures_.render(), HasSubstr("pilot_xds_authenticated_streams_total 0\n"));
}

TEST_F(SecureDiscoveryTest, StopsServingWhenThePodIsGoneAndRefusesItsReconnect) {
  Credentials reviews = workloadCredentials(authority(), "default", "reviews");
  auto stream = call(&reviews);
  DiscoveryResponse response;
  ASSERT_TRUE(stream->ask(node("default", "reviews", "reviews-1"), response).ok());
  translate(false);  // reviews-1 deleted
  auto ended = stream->waitForEnd();
  EXPECT_FALSE(ended.ok());
  EXPECT_NE(ended.error_code(), grpc::StatusCode::DEADLINE_EXCEEDED);
  EXPECT_EQ(failures_.count(Refusal::kUnknownPod), 1u);
  auto again = call(&reviews)->ask(node("default", "reviews", "reviews-1"), response);
  EXPECT_EQ(again.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_THAT(again.error_message(), HasSubstr("pod \"reviews-1\" does not exist"));
}

TEST_F(SecureDiscoveryTest, EndsAStreamWhenItsCertificateExpires) {
  Credentials reviews = workloadCredentials(authority(), "default", "reviews", 1h);
  auto stream = call(&reviews);
  DiscoveryResponse response;
  ASSERT_TRUE(stream->ask(node("default", "reviews", "reviews-1"), response).ok());
  clock_skew_seconds_ = 2 * 3600;
  auto ended = stream->waitForEnd();
  EXPECT_FALSE(ended.ok());
  EXPECT_NE(ended.error_code(), grpc::StatusCode::DEADLINE_EXCEEDED);
  EXPECT_EQ(failures_.count(Refusal::kCertificateExpired), 1u);
}

TEST_F(SecureDiscoveryTest, AcceptsCertificatesOfBothRootsDuringARotation) {
  Credentials old_root = workloadCredentials(authority(), "default", "reviews");
  ASSERT_TRUE(authority().rotateToNewRoot().ok());
  auto refreshed = listener_->refresh(system_clock::now());
  ASSERT_TRUE(refreshed.ok() && *refreshed);
  Credentials new_root = workloadCredentials(authority(), "default", "reviews");
  DiscoveryResponse response;
  for (const Credentials* credentials : {&old_root, &new_root}) {
    auto status = call(credentials)->ask(node("default", "reviews", "reviews-1"), response);
    EXPECT_TRUE(status.ok()) << status.error_message();
  }
}

}  // namespace
}  // namespace remora::pilot::xds_auth
