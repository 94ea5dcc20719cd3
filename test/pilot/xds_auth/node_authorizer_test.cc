// The identity rules of discovery over TLS, without a network: which node a workload
// certificate may ask for, what is read from a certificate, how refusals are counted and
// logged, and that the plaintext port is loopback-only by default.

#include "source/pilot/xds_auth/node_authorizer.h"

#include <map>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "source/common/crypto/certificate_authority.h"
#include "source/common/crypto/csr.h"
#include "source/common/crypto/key_pair.h"
#include "source/pilot/discovery_listen.h"
#include "source/pilot/xds_auth/auth_failures.h"
#include "source/pilot/xds_auth/peer_identity.h"

namespace remora::pilot::xds_auth {
namespace {

using ::testing::HasSubstr;

config::core::v1::Node node(const std::string& ns, const std::string& sa, const std::string& pod) {
  config::core::v1::Node out;
  out.set_id(pod + "." + ns);
  out.set_namespace_(ns);
  out.set_service_account(sa);
  out.set_workload(pod);
  return out;
}

PeerIdentity identity(const std::string& ns, const std::string& sa) {
  return PeerIdentity{*crypto::SpiffeId::create("cluster.local", ns, sa), {}};
}

class NodeAuthorizerTest : public ::testing::Test {
 protected:
  // default/reviews-1 runs as reviews, default/productpage-1 as productpage, default/plain-1
  // names no account.
  std::map<std::string, std::string> pods_ = {{"default/reviews-1", "reviews"},
                                              {"default/productpage-1", "productpage"},
                                              {"default/plain-1", "default"}};
  NodeAuthorizer authorizer_{
      [this](const std::string& ns, const std::string& pod) -> std::optional<std::string> {
        auto it = pods_.find(ns + "/" + pod);
        if (it == pods_.end()) return std::nullopt;
        return it->second;
      }};
};

TEST_F(NodeAuthorizerTest, ServesThePodTheCertificateProves) {
  EXPECT_TRUE(
      authorizer_.authorize(identity("default", "reviews"), node("default", "reviews", "reviews-1"))
          .allowed());
  // Empty namespace and service account mean "default", as pilot and the proxy read them.
  EXPECT_TRUE(
      authorizer_.authorize(identity("default", "default"), node("", "", "plain-1")).allowed());
}

TEST_F(NodeAuthorizerTest, RefusesAnotherServiceAccountsPod) {
  // The attack: a reviews workload naming productpage's pod, with productpage's account...
  auto claimed = authorizer_.authorize(identity("default", "reviews"),
                                       node("default", "productpage", "productpage-1"));
  EXPECT_EQ(claimed.refusal, Refusal::kServiceAccountMismatch);
  EXPECT_THAT(claimed.message, HasSubstr("\"productpage\""));
  // ... or with its own account.
  auto pod = authorizer_.authorize(identity("default", "reviews"),
                                   node("default", "reviews", "productpage-1"));
  EXPECT_EQ(pod.refusal, Refusal::kPodServiceAccountMismatch);
  EXPECT_THAT(pod.message, HasSubstr("runs as service account \"productpage\""));
}

TEST_F(NodeAuthorizerTest, RefusesOtherNamespacesUnknownPodsAndNodesWithoutPod) {
  auto ns = authorizer_.authorize(identity("default", "reviews"),
                                  node("payments", "reviews", "reviews-1"));
  EXPECT_EQ(ns.refusal, Refusal::kNamespaceMismatch);
  EXPECT_THAT(ns.message, HasSubstr("\"payments\""));
  EXPECT_EQ(authorizer_.authorize(identity("default", "reviews"), node("", "reviews", "reviews-1"))
                .allowed(),
            true);
  EXPECT_EQ(
      authorizer_.authorize(identity("default", "reviews"), node("default", "reviews", "reviews-9"))
          .refusal,
      Refusal::kUnknownPod);
  EXPECT_EQ(
      authorizer_.authorize(identity("default", "reviews"), node("default", "reviews", "")).refusal,
      Refusal::kNoWorkload);
}

TEST(PeerIdentityTest, ReadsTheOneSpiffeIdOfTheTrustDomain) {
  auto authority = crypto::CertificateAuthority::create();
  ASSERT_TRUE(authority.ok());
  auto key = crypto::KeyPair::generate();
  const std::string id = "spiffe://cluster.local/ns/default/sa/reviews";
  auto leaf = (*authority)->sign(*crypto::createCsr(*key, id), id, std::chrono::hours(1));
  ASSERT_TRUE(leaf.ok()) << leaf.error();
  auto read = identityFromCertificate(*leaf, "cluster.local");
  ASSERT_TRUE(read.ok()) << read.error();
  EXPECT_EQ(read->id.ns, "default");
  EXPECT_EQ(read->id.sa, "reviews");
  EXPECT_GT(read->not_after, std::chrono::system_clock::now());

  auto other = identityFromCertificate(*leaf, "example.org");
  ASSERT_FALSE(other.ok());
  EXPECT_THAT(other.error(), HasSubstr("not of the mesh's trust domain"));
  EXPECT_FALSE(identityFromCertificate("not a certificate", "cluster.local").ok());
}

TEST(AuthFailuresTest, CountsEveryRefusalAndLogsEachReasonAtMostOncePerInterval) {
  auto now = std::chrono::steady_clock::time_point{} + std::chrono::hours(1);
  std::vector<std::string> lines;
  AuthFailures failures(
      std::chrono::seconds(10), [&] { return now; },
      [&](const std::string& line) { lines.push_back(line); });
  for (int i = 0; i < 5; ++i) failures.refused(Refusal::kUnknownPod, "ipv4:10.0.0.1:5", "gone");
  failures.refused(Refusal::kNamespaceMismatch, "ipv4:10.0.0.1:6", "other namespace");
  EXPECT_EQ(failures.count(Refusal::kUnknownPod), 5u);
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_THAT(lines[0], HasSubstr("discovery refused (unknown_pod) for ipv4:10.0.0.1:5: gone"));
  now += std::chrono::seconds(11);
  failures.refused(Refusal::kUnknownPod, "ipv4:10.0.0.1:7", "gone");
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_THAT(lines[2], HasSubstr("4 more refused"));
  failures.admitted();
  const std::string text = failures.render();
  EXPECT_THAT(text, HasSubstr("pilot_xds_auth_failures_total{reason=\"unknown_pod\"} 6\n"));
  EXPECT_THAT(text, HasSubstr("pilot_xds_auth_failures_total{reason=\"namespace_mismatch\"} 1\n"));
  EXPECT_THAT(text,
              HasSubstr("pilot_xds_auth_failures_total{reason=\"no_client_certificate\"} 0\n"));
  EXPECT_THAT(text, HasSubstr("pilot_xds_authenticated_streams_total 1\n"));
}

TEST(DiscoveryListenTest, PlaintextPortIsLoopbackByDefaultAndCanBeTurnedOff) {
  EXPECT_TRUE(plaintextDiscoveryEnabled(kDefaultPlaintextListen));
  EXPECT_TRUE(loopbackOnly(kDefaultPlaintextListen));
  EXPECT_FALSE(plaintextDiscoveryEnabled("off"));
  EXPECT_TRUE(loopbackOnly("[::1]:15010"));
  EXPECT_TRUE(loopbackOnly("127.0.0.2:15010"));
  EXPECT_FALSE(loopbackOnly("0.0.0.0:15010"));
  EXPECT_FALSE(loopbackOnly("198.18.0.1:15010"));
  EXPECT_FALSE(loopbackOnly("[::]:15010"));
}

}  // namespace
}  // namespace remora::pilot::xds_auth
