#pragma once

// Authenticates callers of the CA: verifies a Kubernetes service-account token (a JWT, compact
// JWS, RS256 or ES256 only) against the keys of --token-public-key, checks its validity
// period, audience and issuer, and says which service account it names.

#include <chrono>
#include <memory>
#include <string>
#include <string_view>

#include "source/common/crypto/result.h"
#include "source/pilot/ca/service_account_authenticator.h"
#include "source/pilot/ca/token_keys.h"

namespace remora::pilot::ca {

class TokenVerifier final : public ServiceAccountAuthenticator {
 public:
  struct Options {
    std::string audience = "istio-ca";  // must be in the token's aud (a string or an array)
    std::string issuer;                 // when not empty, must equal the token's iss
    // Tolerated clock difference between the token issuer and pilot, for exp and nbf.
    std::chrono::seconds leeway{60};
  };

  // A verifier using `keys` (null: no key configured, every token is refused).
  TokenVerifier(std::shared_ptr<const TokenKeys> keys, Options options)
      : keys_(std::move(keys)), options_(std::move(options)) {}

  // The service account `token` was issued to, if the token is genuine and valid at `now`:
  // its header names RS256 or ES256 (never none, HS*, or anything else) and no critical
  // extension; its signature verifies with one of the keys; it has exp (and may have nbf),
  // and now is within [nbf - leeway, exp + leeway); its aud contains the audience; its iss is
  // the issuer (when one is configured). The service account comes from the projected
  // token's kubernetes.io.namespace and kubernetes.io.serviceaccount.name claims, else from
  // sub = system:serviceaccount:<namespace>:<name>.
  // Errors say which check failed ("token expired at 2026-01-31T12:00:00Z (now ..., leeway
  // 60s)"). Thread-safe.
  crypto::Result<ServiceAccount> verify(std::string_view token,
                                        std::chrono::system_clock::time_point now) const;

  // verify(): the static-key answer to "who does this token prove?".
  crypto::Result<ServiceAccount> authenticate(
      std::string_view token, std::chrono::system_clock::time_point now) const override {
    return verify(token, now);
  }

 private:
  std::shared_ptr<const TokenKeys> keys_;
  Options options_;
};

}  // namespace remora::pilot::ca
