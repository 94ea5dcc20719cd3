// Pilot's CA in the --kubernetes mode: PilotCa with a TokenReviewAuthenticator over the
// scripted fake API server (TLS), called by a real gRPC C++ client. The token's identity is
// signed, another identity refused, an unauthenticated token and an API error are
// UNAUTHENTICATED (and not cached); positive answers are cached per token, bounded by 60 s,
// the token's exp and the cache size.
#include "source/pilot/ca/token_review_authenticator.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "source/common/crypto/certificate_info.h"
#include "source/common/crypto/csr.h"
#include "source/common/crypto/key_pair.h"
#include "source/pilot/ca/base64url.h"
#include "source/pilot/ca/pilot_ca.h"
#include "source/pilot/kubernetes/json_value.h"
#include "test/pilot/ca/test_util.h"
#include "test/pilot/kubernetes/api_client_fixture.h"

namespace remora::pilot::ca {
namespace {

using ::testing::HasSubstr;
using namespace std::chrono_literals;
using grpc::StatusCode;
using kubernetes::JsonValue;
using remora::service::ca::v1::CertificateResponse;
using std::chrono::system_clock;

// A TokenReview answer; `audiences` are echoed back only for the tokens the server vouches for.
std::string reviewAnswer(bool authenticated, const std::string& user,
                         const std::vector<std::string>& audiences) {
  std::string listed;
  for (const auto& audience : audiences) {
    listed += (listed.empty() ? "" : ",") + JsonValue::quote(audience);
  }
  return R"({"apiVersion":"authentication.k8s.io/v1","kind":"TokenReview","status":{)"
         R"("authenticated":)" +
         std::string(authenticated ? "true" : "false") + R"(,"user":{"username":)" +
         JsonValue::quote(user) + R"(},"audiences":[)" + listed + "]" +
         (authenticated ? "" : R"(,"error":"invalid bearer token")") + "}}";
}

// A JWT-shaped token (unsigned: only the API server judges it) whose exp is `exp`.
std::string jwtExpiringAt(system_clock::time_point exp) {
  const auto seconds = std::chrono::duration_cast<std::chrono::seconds>(exp.time_since_epoch());
  return base64UrlEncode(R"({"alg":"RS256"})") + "." +
         base64UrlEncode(R"({"exp":)" + std::to_string(seconds.count()) + "}") + ".c2ln";
}

class TokenReviewAuthenticatorTest : public kubernetes::testing::ApiClientFixture {
 protected:
  void SetUp() override {
    ApiClientFixture::SetUp();
    server_->setTokenReviewHandler([this](const std::string& body) -> std::pair<int, std::string> {
      auto request = JsonValue::parse(body);
      if (!request.ok()) return {400, "{}"};
      std::string token = request.value().get("spec").get("token").asString();
      std::vector<std::string> asked;
      for (const auto& audience : request.value().get("spec").get("audiences").elements()) {
        asked.push_back(audience.asString());
      }
      if (token == "api-down") return {503, R"({"kind":"Status","code":503})"};
      if (token == "reviews-token" || token.find('.') != std::string::npos ||
          (token == "flaky" && api_recovered_)) {
        return {201, reviewAnswer(true, "system:serviceaccount:default:reviews", asked)};
      }
      if (token == "flaky") return {500, R"({"kind":"Status","code":500})"};
      return {201, reviewAnswer(false, "", {})};
    });
    reviewer_ = std::make_unique<kubernetes::TokenReviewer>(client("pilot"),
                                                            kubernetes::TokenReviewer::Options{});
  }

  void startCa() {
    auto authenticator =
        std::make_shared<TokenReviewAuthenticator>(*reviewer_, TokenReviewAuthenticator::Options{});
    authenticator_ = authenticator.get();
    CaOptions options;
    options.listen = "127.0.0.1:0";
    options.token_authenticator = std::move(authenticator);
    auto started = PilotCa::start(options, "cluster.local");
    ASSERT_TRUE(started.ok()) << started.error();
    ca_ = std::move(*started);
  }

  grpc::Status call(const std::string& token, const std::string& spiffe_id,
                    CertificateResponse& response) {
    auto csr = crypto::createCsr(workload_key_, spiffe_id);
    EXPECT_TRUE(csr.ok()) << csr.error();
    return test::createCertificate(ca_->port(), ca_->authority().rootsPem(), token, *csr, 0,
                                   response);
  }

  size_t tokenReviews() const {
    size_t count = 0;
    for (const auto& request : server_->requests()) {
      count += request.path == "/apis/authentication.k8s.io/v1/tokenreviews" ? 1 : 0;
    }
    return count;
  }

  std::atomic<bool> api_recovered_{false};
  std::unique_ptr<kubernetes::TokenReviewer> reviewer_;
  const TokenReviewAuthenticator* authenticator_ = nullptr;
  std::unique_ptr<PilotCa> ca_;
  crypto::KeyPair workload_key_ = *crypto::KeyPair::generate();
};

constexpr char kReviews[] = "spiffe://cluster.local/ns/default/sa/reviews";

TEST_F(TokenReviewAuthenticatorTest, SignsTheIdentityTheApiServerVouchesFor) {
  startCa();
  CertificateResponse response;
  grpc::Status status = call("reviews-token", kReviews, response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  ASSERT_EQ(response.cert_chain_size(), 1);
  auto info = crypto::parseCertificateChain(response.cert_chain(0));
  ASSERT_TRUE(info.ok()) << info.error();
  EXPECT_EQ(info->front().sans,
            (std::vector<crypto::SubjectAltName>{{crypto::SanType::kUri, kReviews}}));
  // The review asked for the CA's audience, with pilot's own credentials.
  auto review = server_->requests().back();
  EXPECT_EQ(review.authorization, "Bearer pilot");
  auto body = JsonValue::parse(review.body).value();
  EXPECT_EQ(body.get("spec").get("token").asString(), "reviews-token");
  ASSERT_EQ(body.get("spec").get("audiences").elements().size(), 1u);
  EXPECT_EQ(body.get("spec").get("audiences").elements()[0].asString(), "istio-ca");
}

TEST_F(TokenReviewAuthenticatorTest, RefusesAnotherIdentityAndUnauthenticatedTokens) {
  startCa();
  CertificateResponse response;
  grpc::Status status =
      call("reviews-token", "spiffe://cluster.local/ns/default/sa/ratings", response);
  EXPECT_EQ(status.error_code(), StatusCode::PERMISSION_DENIED);
  EXPECT_THAT(status.error_message(), HasSubstr(kReviews));

  status = call("stolen-token", kReviews, response);
  EXPECT_EQ(status.error_code(), StatusCode::UNAUTHENTICATED);
  EXPECT_THAT(status.error_message(),
              HasSubstr("TokenReview: token not authenticated: invalid bearer token"));
  status = call("stolen-token", kReviews, response);  // a refusal is not cached
  EXPECT_EQ(status.error_code(), StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(tokenReviews(), 3u);
  EXPECT_EQ(authenticator_->cachedAnswers(), 1u);  // reviews-token only
}

TEST_F(TokenReviewAuthenticatorTest, TwoCsrsWithOneTokenCostOneReview) {
  startCa();
  CertificateResponse response;
  ASSERT_TRUE(call("reviews-token", kReviews, response).ok());
  ASSERT_TRUE(call("reviews-token", kReviews, response).ok());
  EXPECT_EQ(tokenReviews(), 1u);
}

TEST_F(TokenReviewAuthenticatorTest, AnApiErrorIsUnauthenticatedAndNotCached) {
  startCa();
  CertificateResponse response;
  grpc::Status status = call("api-down", kReviews, response);
  EXPECT_EQ(status.error_code(), StatusCode::UNAUTHENTICATED);
  EXPECT_THAT(status.error_message(), HasSubstr("TokenReview: API server answered HTTP 503"));
  EXPECT_THAT(status.error_message(), ::testing::Not(HasSubstr("api-down")));

  status = call("flaky", kReviews, response);
  EXPECT_EQ(status.error_code(), StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(authenticator_->cachedAnswers(), 0u);
  api_recovered_ = true;  // the next request asks again, and is signed
  status = call("flaky", kReviews, response);
  EXPECT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(tokenReviews(), 3u);
}

TEST_F(TokenReviewAuthenticatorTest, AnswersAreKeptAtMostSixtySeconds) {
  TokenReviewAuthenticator authenticator(*reviewer_, TokenReviewAuthenticator::Options{});
  const auto now = system_clock::now();
  ASSERT_TRUE(authenticator.authenticate("reviews-token", now).ok());
  ASSERT_TRUE(authenticator.authenticate("reviews-token", now + 59s).ok());
  EXPECT_EQ(tokenReviews(), 1u);
  auto later = authenticator.authenticate("reviews-token", now + 60s);
  ASSERT_TRUE(later.ok()) << later.error();
  EXPECT_EQ(later.value(), (ServiceAccount{"default", "reviews"}));
  EXPECT_EQ(tokenReviews(), 2u);
}

TEST_F(TokenReviewAuthenticatorTest, AnswersAreKeptNoLongerThanTheTokensExpiry) {
  TokenReviewAuthenticator authenticator(*reviewer_, TokenReviewAuthenticator::Options{});
  const auto now = system_clock::now();
  const std::string token = jwtExpiringAt(now + 10s);
  ASSERT_TRUE(authenticator.authenticate(token, now).ok());
  ASSERT_TRUE(authenticator.authenticate(token, now + 9s).ok());
  EXPECT_EQ(tokenReviews(), 1u);
  ASSERT_TRUE(authenticator.authenticate(token, now + 11s).ok());
  EXPECT_EQ(tokenReviews(), 2u);
  // A token already expired by its own claim is never cached.
  const std::string expired = jwtExpiringAt(now - 1s);
  ASSERT_TRUE(authenticator.authenticate(expired, now).ok());
  ASSERT_TRUE(authenticator.authenticate(expired, now).ok());
  EXPECT_EQ(tokenReviews(), 4u);
}

TEST_F(TokenReviewAuthenticatorTest, TheCacheIsBoundedInSize) {
  TokenReviewAuthenticator authenticator(*reviewer_, TokenReviewAuthenticator::Options{2, 60s});
  const auto now = system_clock::now();
  const std::string soonest = jwtExpiringAt(now + 10s);
  ASSERT_TRUE(authenticator.authenticate(soonest, now).ok());
  ASSERT_TRUE(authenticator.authenticate(jwtExpiringAt(now + 20s), now).ok());
  ASSERT_TRUE(authenticator.authenticate(jwtExpiringAt(now + 30s), now).ok());
  EXPECT_EQ(authenticator.cachedAnswers(), 2u);
  EXPECT_EQ(tokenReviews(), 3u);
  ASSERT_TRUE(authenticator.authenticate(soonest, now).ok());  // the one evicted
  EXPECT_EQ(tokenReviews(), 4u);
}

}  // namespace
}  // namespace remora::pilot::ca
