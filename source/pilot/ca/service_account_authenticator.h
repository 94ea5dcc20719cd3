#pragma once

// Who does a bearer token prove? The CA's one question about its callers, answered either by
// verifying the token's signature with a static public key (TokenVerifier, the folder mode) or
// by asking the Kubernetes API server (TokenReviewAuthenticator, the --kubernetes mode).

#include <chrono>
#include <string>
#include <string_view>

#include "source/common/crypto/result.h"

namespace remora::pilot::ca {

// The Kubernetes service account a token was issued to.
struct ServiceAccount {
  std::string ns;
  std::string name;
  bool operator==(const ServiceAccount&) const = default;
};

class ServiceAccountAuthenticator {
 public:
  virtual ~ServiceAccountAuthenticator() = default;

  // The service account `token` proves at `now`, or an error naming the check that failed
  // (never containing the token). An error means the caller is not authenticated, whatever
  // its cause (a bad token, or an authority that could not be asked).
  // Threads: called from gRPC's handler threads, many at once; implementations are
  // thread-safe.
  virtual crypto::Result<ServiceAccount> authenticate(
      std::string_view token, std::chrono::system_clock::time_point now) const = 0;
};

}  // namespace remora::pilot::ca
