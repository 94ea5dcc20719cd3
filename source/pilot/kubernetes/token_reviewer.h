#pragma once

// Authenticates callers of the CA in Kubernetes mode: asks the API server about a
// service-account token with the TokenReview API (POST
// /apis/authentication.k8s.io/v1/tokenreviews, spec.token and spec.audiences), instead of
// verifying its signature with a static public key (ca/token_verifier.h, the folder mode).
// Pilot's service account needs RBAC `create` on `tokenreviews`.

#include <chrono>
#include <string>
#include <string_view>
#include <vector>

#include "source/common/crypto/result.h"
#include "source/pilot/kubernetes/https_client.h"

namespace remora::pilot::kubernetes {

// The API server's answer (TokenReview status).
struct TokenReviewStatus {
  bool authenticated = false;
  std::string user;                    // status.user.username
  std::vector<std::string> audiences;  // status.audiences
  std::string error;                   // status.error
};

// The service account a reviewed token belongs to; the same fields as ca::ServiceAccount, so
// the CA's certificate service can take either verifier's answer.
struct ReviewedServiceAccount {
  std::string ns;
  std::string name;
  bool operator==(const ReviewedServiceAccount&) const = default;
};

class TokenReviewer {
 public:
  struct Options {
    std::string audience = "istio-ca";  // asked for, and required in the answer
    std::chrono::milliseconds timeout{5000};
  };

  // `client` (with pilot's own credentials) must outlive the reviewer.
  TokenReviewer(HttpsClient& client, Options options)
      : client_(client), options_(std::move(options)) {}

  // The API server's review of `token` for the audience. Errors: the request failed, or was
  // answered with a status other than 200/201 (403: pilot may not create TokenReviews), or the
  // answer is not a TokenReview. Thread-safe (one request per call, its own connection).
  crypto::Result<TokenReviewStatus> review(std::string_view token) const;

  // The service account `token` was issued to, if the API server authenticates it: it must
  // answer authenticated, list the required audience among status.audiences (an answer without
  // audiences is refused: the token was not checked for ours), and name a user
  // system:serviceaccount:<namespace>:<name>. Errors say which ("TokenReview: token not
  // authenticated: <the server's error>"); they never contain the token. `now` is unused (the
  // API server judges validity); it keeps TokenVerifier::verify's signature. Thread-safe.
  crypto::Result<ReviewedServiceAccount> verify(std::string_view token,
                                                std::chrono::system_clock::time_point now) const;

 private:
  HttpsClient& client_;
  const Options options_;
};

}  // namespace remora::pilot::kubernetes
