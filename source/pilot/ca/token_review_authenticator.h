#pragma once

// The --kubernetes mode's answer to "who does this bearer token prove?": the API server's
// TokenReview (kubernetes::TokenReviewer), with a small cache of positive answers so that the
// CSRs of one workload (a retry, a renewal right after a refusal elsewhere) do not each cost
// an API request.
//
// The cache is keyed by the token's SHA-256 (the token itself is never kept). An answer is
// kept until the earlier of max_age after it was given and the token's own exp claim (read
// without verifying the signature: it can only shorten the time, never lengthen it), and at
// most max_entries answers are kept (when full, expired ones go first, then the one expiring
// soonest). Refusals and API errors are never cached: a token the API server could not judge
// is asked about again on the next request.
//
// Threads: authenticate() from gRPC's handler threads, many at once. The cache is guarded by
// a mutex that is not held while the API server is asked, so two first requests for the same
// token may both ask.

#include <chrono>
#include <cstddef>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include "source/pilot/ca/service_account_authenticator.h"
#include "source/pilot/kubernetes/token_reviewer.h"

namespace remora::pilot::ca {

class TokenReviewAuthenticator final : public ServiceAccountAuthenticator {
 public:
  struct Options {
    std::size_t max_entries = 4096;
    std::chrono::seconds max_age{60};
  };

  // `reviewer` must outlive the authenticator.
  TokenReviewAuthenticator(const kubernetes::TokenReviewer& reviewer, Options options)
      : reviewer_(reviewer), options_(options) {}

  // The cached answer for `token` if one is still fresh at `now`, else the API server's
  // (TokenReviewer::verify: its errors, e.g. "TokenReview: token not authenticated: ...").
  crypto::Result<ServiceAccount> authenticate(
      std::string_view token, std::chrono::system_clock::time_point now) const override;

  // How many answers the cache holds (fresh or not yet purged); for tests.
  std::size_t cachedAnswers() const;

 private:
  struct CachedAnswer {
    ServiceAccount account;
    std::chrono::system_clock::time_point expires;
  };

  void remember(std::string key, const ServiceAccount& account, std::string_view token,
                std::chrono::system_clock::time_point now) const;

  const kubernetes::TokenReviewer& reviewer_;
  const Options options_;
  mutable std::mutex mutex_;
  mutable std::unordered_map<std::string, CachedAnswer> cache_;  // by the token's SHA-256
};

}  // namespace remora::pilot::ca
