// TokenReview against the fake API server over TLS: a service-account token accepted (and the
// request carries the token and audience, with pilot's own credentials); refused when not
// authenticated, for another audience or none, for a user that is no service account; API
// errors (403, 401, not a TokenReview) are errors.
#include "source/pilot/kubernetes/token_reviewer.h"

#include <gtest/gtest.h>

#include "source/pilot/kubernetes/json_value.h"
#include "test/pilot/kubernetes/api_client_fixture.h"

namespace remora::pilot::kubernetes {
namespace {

using namespace std::chrono_literals;

std::string reviewAnswer(bool authenticated, const std::string& user,
                         const std::vector<std::string>& audiences, const std::string& error) {
  std::string listed;
  for (const auto& audience : audiences) {
    listed += (listed.empty() ? "" : ",") + JsonValue::quote(audience);
  }
  return R"({"apiVersion":"authentication.k8s.io/v1","kind":"TokenReview","status":{)"
         R"("authenticated":)" +
         std::string(authenticated ? "true" : "false") + R"(,"user":{"username":)" +
         JsonValue::quote(user) + R"(,"groups":["system:serviceaccounts"]},"audiences":[)" +
         listed + "]" + (error.empty() ? "" : R"(,"error":)" + JsonValue::quote(error)) + "}}";
}

class TokenReviewerTest : public testing::ApiClientFixture {
 protected:
  void SetUp() override {
    ApiClientFixture::SetUp();
    // The API server's view of a few tokens.
    server_->setTokenReviewHandler([](const std::string& body) -> std::pair<int, std::string> {
      auto request = JsonValue::parse(body);
      if (!request.ok()) {
        return {400, "{}"};
      }
      std::string token = request.value().get("spec").get("token").asString();
      std::vector<std::string> asked;
      for (const auto& audience : request.value().get("spec").get("audiences").elements()) {
        asked.push_back(audience.asString());
      }
      const std::string account = "system:serviceaccount:shop:checkout";
      if (token == "valid-token") {
        return {201, reviewAnswer(true, account, asked, "")};
      }
      if (token == "token-for-the-api") {
        return {201, reviewAnswer(true, account, {}, "")};  // valid, but not for what was asked
      }
      if (token == "token-of-a-person") {
        return {201, reviewAnswer(true, "alice@example.com", asked, "")};
      }
      if (token == "forbidden") {
        return {403, R"({"kind":"Status","code":403})"};
      }
      if (token == "garbage") {
        return {201, R"({"kind":"Status"})"};
      }
      return {201, reviewAnswer(false, "", {}, "[invalid bearer token, token has expired]")};
    });
    reviewer_ = std::make_unique<TokenReviewer>(client("pilot"), TokenReviewer::Options{});
  }

  std::string verifyError(const std::string& token) {
    auto result = reviewer_->verify(token, std::chrono::system_clock::now());
    return result.ok() ? "" : result.error();
  }

  std::unique_ptr<TokenReviewer> reviewer_;
};

TEST_F(TokenReviewerTest, AcceptsAServiceAccountTokenForTheAudience) {
  auto account = reviewer_->verify("valid-token", std::chrono::system_clock::now());
  ASSERT_TRUE(account.ok()) << account.error();
  EXPECT_EQ(account.value(), (ReviewedServiceAccount{"shop", "checkout"}));
  auto request = server_->requests().back();
  EXPECT_EQ(request.method, "POST");
  EXPECT_EQ(request.path, "/apis/authentication.k8s.io/v1/tokenreviews");
  EXPECT_EQ(request.authorization, "Bearer pilot");  // pilot's credentials, not the caller's
  auto body = JsonValue::parse(request.body).value();
  EXPECT_EQ(body.get("spec").get("token").asString(), "valid-token");
  ASSERT_EQ(body.get("spec").get("audiences").elements().size(), 1u);
  EXPECT_EQ(body.get("spec").get("audiences").elements()[0].asString(), "istio-ca");

  auto status = reviewer_->review("valid-token");
  ASSERT_TRUE(status.ok()) << status.error();
  EXPECT_TRUE(status.value().authenticated);
  EXPECT_EQ(status.value().user, "system:serviceaccount:shop:checkout");
  EXPECT_EQ(status.value().audiences, std::vector<std::string>{"istio-ca"});
}

TEST_F(TokenReviewerTest, RefusesWhatTheApiServerDoesNotVouchFor) {
  EXPECT_EQ(verifyError("expired-token"),
            "TokenReview: token not authenticated: [invalid bearer token, token has expired]");
  EXPECT_EQ(verifyError("token-for-the-api"),
            "TokenReview: token not valid for audience istio-ca (the API server answered "
            "audiences [])");
  EXPECT_EQ(verifyError("token-of-a-person"),
            "TokenReview: user alice@example.com is not a service account");
}

TEST_F(TokenReviewerTest, ApiErrorsAreErrors) {
  EXPECT_EQ(verifyError("forbidden"),
            "TokenReview: API server answered HTTP 403 (pilot may not create tokenreviews)");
  EXPECT_EQ(verifyError("garbage"), "TokenReview: the answer is not a TokenReview");
  server_->revokeToken("pilot");
  EXPECT_EQ(verifyError("valid-token"), "TokenReview: API server answered HTTP 401");
  server_.reset();  // nobody listening any more
  std::string error = verifyError("valid-token");
  EXPECT_EQ(error.rfind("TokenReview: ", 0), 0u) << error;
  EXPECT_EQ(error.find("valid-token"), std::string::npos) << error;  // never the token
}

}  // namespace
}  // namespace remora::pilot::kubernetes
