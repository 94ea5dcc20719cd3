#include "source/pilot/kubernetes/token_reviewer.h"

#include <algorithm>
#include <atomic>

#include "source/pilot/kubernetes/json_value.h"

namespace remora::pilot::kubernetes {

using crypto::Error;

namespace {
constexpr std::string_view kServiceAccountPrefix = "system:serviceaccount:";
}  // namespace

crypto::Result<TokenReviewStatus> TokenReviewer::review(std::string_view token) const {
  // A CA request is short and bounded by the timeout; nothing cancels it earlier.
  static const std::atomic<bool> kNeverCancelled{false};
  std::string request =
      R"({"apiVersion":"authentication.k8s.io/v1","kind":"TokenReview","spec":{"token":)" +
      JsonValue::quote(token) + R"(,"audiences":[)" + JsonValue::quote(options_.audience) + "]}}";
  std::string answer;
  auto status = client_.send("POST", "/apis/authentication.k8s.io/v1/tokenreviews", request,
                             options_.timeout, kNeverCancelled, answer, 1 << 20);
  if (!status.ok()) {
    return Error{"TokenReview: " + status.error()};
  }
  if (status.value() != 200 && status.value() != 201) {
    return Error{"TokenReview: API server answered HTTP " + std::to_string(status.value()) +
                 (status.value() == 403 ? " (pilot may not create tokenreviews)" : "")};
  }
  auto parsed = JsonValue::parse(answer);
  if (!parsed.ok() || parsed.value().get("kind").asString() != "TokenReview") {
    return Error{"TokenReview: the answer is not a TokenReview"};
  }
  const JsonValue& review_status = parsed.value().get("status");
  TokenReviewStatus result;
  result.authenticated = review_status.get("authenticated").asBool();
  result.user = review_status.get("user").get("username").asString();
  for (const auto& audience : review_status.get("audiences").elements()) {
    result.audiences.push_back(audience.asString());
  }
  result.error = review_status.get("error").asString();
  return result;
}

crypto::Result<ReviewedServiceAccount> TokenReviewer::verify(
    std::string_view token, std::chrono::system_clock::time_point) const {
  auto reviewed = review(token);
  if (!reviewed.ok()) {
    return Error{reviewed.error()};
  }
  const TokenReviewStatus& status = reviewed.value();
  if (!status.authenticated) {
    return Error{"TokenReview: token not authenticated" +
                 (status.error.empty() ? "" : ": " + status.error)};
  }
  if (std::find(status.audiences.begin(), status.audiences.end(), options_.audience) ==
      status.audiences.end()) {
    std::string listed;
    for (const auto& audience : status.audiences) {
      listed += (listed.empty() ? "" : ", ") + audience;
    }
    return Error{"TokenReview: token not valid for audience " + options_.audience +
                 " (the API server answered audiences [" + listed + "])"};
  }
  std::string_view user = status.user;
  if (user.substr(0, kServiceAccountPrefix.size()) != kServiceAccountPrefix) {
    return Error{"TokenReview: user " + status.user + " is not a service account"};
  }
  user.remove_prefix(kServiceAccountPrefix.size());
  size_t colon = user.find(':');
  if (colon == std::string_view::npos || colon == 0 || colon + 1 == user.size() ||
      user.find(':', colon + 1) != std::string_view::npos) {
    return Error{"TokenReview: user " + status.user + " is not a service account"};
  }
  return ReviewedServiceAccount{std::string(user.substr(0, colon)),
                                std::string(user.substr(colon + 1))};
}

}  // namespace remora::pilot::kubernetes
