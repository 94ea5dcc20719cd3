#pragma once

// JSON Web Signatures in compact form (RFC 7515) with the two algorithms pilot's CA accepts:
// RS256 (RSASSA-PKCS1-v1_5 with SHA-256) and ES256 (ECDSA on P-256 with SHA-256, the signature
// as raw r||s, 64 bytes). Shared by the token verifier and `remora-pilot mint-token`.

#include <optional>
#include <string>
#include <string_view>

#include <google/protobuf/struct.pb.h>
#include <openssl/evp.h>

#include "source/common/crypto/key_pair.h"
#include "source/common/crypto/result.h"

namespace remora::pilot::ca {

enum class JwsAlgorithm { kRs256, kEs256 };

// "RS256" or "ES256".
std::string_view algorithmName(JwsAlgorithm algorithm);
// The algorithm named `name`, or nullopt for any other ("none", "HS256", "PS256", ...).
std::optional<JwsAlgorithm> algorithmNamed(std::string_view name);
// The key type an algorithm signs with: RSA for RS256, EC P-256 for ES256.
crypto::KeyType keyTypeFor(JwsAlgorithm algorithm);

// A compact JWS split into its parts. Nothing in it is trusted until the signature verifies.
struct CompactJws {
  google::protobuf::Struct header;  // the protected header, a JSON object
  std::string payload;              // the payload bytes (a JSON object for a JWT)
  std::string signing_input;        // "<header>.<payload>" as received: what is signed
  std::string signature;            // the signature bytes
};

// Splits `token` into header, payload and signature and decodes them. Errors name the part:
// not three dot-separated parts, a part that is not base64url, a header that is not a JSON
// object.
crypto::Result<CompactJws> parseCompactJws(std::string_view token);

// Whether `signature` over `signing_input` verifies with `public_key` (borrowed) under
// `algorithm`. False too when the key is not of the algorithm's type.
bool verifyJwsSignature(JwsAlgorithm algorithm, EVP_PKEY* public_key,
                        std::string_view signing_input, std::string_view signature);

// A compact JWS of `payload` signed with `key`: RS256 for an RSA key, ES256 for P-256. The
// header is `header` with "alg" set. Errors: signing failure.
crypto::Result<std::string> signCompactJws(google::protobuf::Struct header,
                                           std::string_view payload, const crypto::KeyPair& key);

// `json` as a Struct. Errors: not JSON, or JSON that is not an object (the parser's reason).
crypto::Result<google::protobuf::Struct> parseJsonObject(std::string_view json);

// `object` as compact JSON.
std::string toJson(const google::protobuf::Struct& object);

}  // namespace remora::pilot::ca
