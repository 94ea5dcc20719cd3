#pragma once

// Tokens for development and tests, shaped like the projected service-account tokens the
// Kubernetes API server gives pods, signed with a private key whose public half pilot is
// given with --token-public-key. `remora-pilot mint-token` prints one.

#include <chrono>
#include <iosfwd>
#include <string>

#include "source/common/crypto/key_pair.h"
#include "source/common/crypto/result.h"

namespace remora::pilot::ca {

struct MintOptions {
  std::string ns;               // kubernetes.io.namespace (required)
  std::string service_account;  // kubernetes.io.serviceaccount.name (required)
  std::string audience = "istio-ca";
  std::string issuer = "https://kubernetes.default.svc.cluster.local";
  std::chrono::seconds ttl = std::chrono::hours(1);
};

// A signed JWT: header {alg, kid, typ}, with alg RS256 for an RSA key and ES256 for P-256 and
// kid derived from the public key as Kubernetes does (base64url SHA-256 of its DER); claims
// aud [audience], iss, sub system:serviceaccount:<ns>:<sa>, iat = nbf = now, exp = now + ttl,
// kubernetes.io {namespace, serviceaccount {name}}. Errors: empty namespace or service
// account, non-positive ttl, signing failure.
crypto::Result<std::string> mintServiceAccountToken(const crypto::KeyPair& key,
                                                    const MintOptions& options,
                                                    std::chrono::system_clock::time_point now);

// `remora-pilot mint-token --key FILE --namespace NS --service-account SA [--audience A]
// [--issuer I] [--ttl 1h]`: `args` are the words after "mint-token". Prints the token and a
// newline on `out`; problems on `err`. Returns the process exit code.
int runMintTokenCommand(int argc, char** args, std::ostream& out, std::ostream& err);

}  // namespace remora::pilot::ca
