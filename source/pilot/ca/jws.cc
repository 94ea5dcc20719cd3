#include "source/pilot/ca/jws.h"

#include <google/protobuf/util/json_util.h>
#include <openssl/bn.h>
#include <openssl/ecdsa.h>

#include "source/common/crypto/openssl_ptr.h"
#include "source/common/crypto/openssl_util.h"
#include "source/pilot/ca/base64url.h"

namespace remora::pilot::ca {

using crypto::Error;

namespace {

// JWS puts an ES256 signature on the wire as r||s, each 32 bytes big-endian; OpenSSL signs and
// verifies the DER ECDSA-Sig-Value. These convert between the two.
constexpr size_t kEs256Half = 32;

using EcdsaSigPtr = std::unique_ptr<ECDSA_SIG, crypto::OpenSslDeleter<ECDSA_SIG_free>>;
using MdCtxPtr = std::unique_ptr<EVP_MD_CTX, crypto::OpenSslDeleter<EVP_MD_CTX_free>>;

std::optional<std::string> rawToDerSignature(std::string_view raw) {
  if (raw.size() != 2 * kEs256Half) {
    return std::nullopt;
  }
  const auto* bytes = reinterpret_cast<const unsigned char*>(raw.data());
  EcdsaSigPtr sig(ECDSA_SIG_new());
  BIGNUM* r = BN_bin2bn(bytes, kEs256Half, nullptr);
  BIGNUM* s = BN_bin2bn(bytes + kEs256Half, kEs256Half, nullptr);
  if (!sig || r == nullptr || s == nullptr || ECDSA_SIG_set0(sig.get(), r, s) != 1) {
    BN_free(r);
    BN_free(s);
    return std::nullopt;
  }
  unsigned char* der = nullptr;
  const int length = i2d_ECDSA_SIG(sig.get(), &der);
  if (length <= 0) {
    return std::nullopt;
  }
  std::string out(reinterpret_cast<char*>(der), static_cast<size_t>(length));
  OPENSSL_free(der);
  return out;
}

std::optional<std::string> derToRawSignature(std::string_view der) {
  const auto* bytes = reinterpret_cast<const unsigned char*>(der.data());
  EcdsaSigPtr sig(d2i_ECDSA_SIG(nullptr, &bytes, static_cast<long>(der.size())));
  if (!sig) {
    return std::nullopt;
  }
  std::string raw(2 * kEs256Half, '\0');
  auto* out = reinterpret_cast<unsigned char*>(raw.data());
  if (BN_bn2binpad(ECDSA_SIG_get0_r(sig.get()), out, kEs256Half) != kEs256Half ||
      BN_bn2binpad(ECDSA_SIG_get0_s(sig.get()), out + kEs256Half, kEs256Half) != kEs256Half) {
    return std::nullopt;
  }
  return raw;
}

bool keyFits(JwsAlgorithm algorithm, EVP_PKEY* key) {
  auto type = crypto::keyTypeOf(key);
  return type.ok() && *type == keyTypeFor(algorithm);
}

}  // namespace

std::string_view algorithmName(JwsAlgorithm algorithm) {
  return algorithm == JwsAlgorithm::kRs256 ? "RS256" : "ES256";
}

std::optional<JwsAlgorithm> algorithmNamed(std::string_view name) {
  if (name == "RS256") return JwsAlgorithm::kRs256;
  if (name == "ES256") return JwsAlgorithm::kEs256;
  return std::nullopt;
}

crypto::KeyType keyTypeFor(JwsAlgorithm algorithm) {
  return algorithm == JwsAlgorithm::kRs256 ? crypto::KeyType::kRsa : crypto::KeyType::kEcdsaP256;
}

crypto::Result<CompactJws> parseCompactJws(std::string_view token) {
  const size_t first = token.find('.');
  const size_t second = first == std::string_view::npos ? first : token.find('.', first + 1);
  if (second == std::string_view::npos || token.find('.', second + 1) != std::string_view::npos) {
    size_t dots = 0;
    for (const char c : token) dots += c == '.' ? 1 : 0;
    return Error{"not a JWT: expected 3 dot-separated parts, found " + std::to_string(dots + 1)};
  }
  auto header = base64UrlDecode(token.substr(0, first));
  auto payload = base64UrlDecode(token.substr(first + 1, second - first - 1));
  auto signature = base64UrlDecode(token.substr(second + 1));
  if (!header) return Error{"JWT header is not base64url"};
  if (!payload) return Error{"JWT payload is not base64url"};
  if (!signature) return Error{"JWT signature is not base64url"};
  auto header_object = parseJsonObject(*header);
  if (!header_object.ok()) {
    return Error{"JWT header is not a JSON object: " + header_object.error()};
  }
  return CompactJws{std::move(*header_object), std::move(*payload),
                    std::string(token.substr(0, second)), std::move(*signature)};
}

bool verifyJwsSignature(JwsAlgorithm algorithm, EVP_PKEY* public_key,
                        std::string_view signing_input, std::string_view signature) {
  crypto::OpenSslErrorScope errors;
  if (!keyFits(algorithm, public_key)) {
    return false;
  }
  std::string der;
  if (algorithm == JwsAlgorithm::kEs256) {
    auto converted = rawToDerSignature(signature);
    if (!converted) return false;
    der = std::move(*converted);
    signature = der;
  }
  MdCtxPtr context(EVP_MD_CTX_new());
  // RSA keys default to PKCS#1 v1.5 padding, which is what RS256 is.
  return context &&
         EVP_DigestVerifyInit(context.get(), nullptr, EVP_sha256(), nullptr, public_key) == 1 &&
         EVP_DigestVerify(context.get(), reinterpret_cast<const unsigned char*>(signature.data()),
                          signature.size(),
                          reinterpret_cast<const unsigned char*>(signing_input.data()),
                          signing_input.size()) == 1;
}

crypto::Result<std::string> signCompactJws(google::protobuf::Struct header,
                                           std::string_view payload, const crypto::KeyPair& key) {
  crypto::OpenSslErrorScope errors;
  const JwsAlgorithm algorithm =
      key.type() == crypto::KeyType::kRsa ? JwsAlgorithm::kRs256 : JwsAlgorithm::kEs256;
  (*header.mutable_fields())["alg"].set_string_value(std::string(algorithmName(algorithm)));
  const std::string signing_input =
      base64UrlEncode(toJson(header)) + "." + base64UrlEncode(payload);
  MdCtxPtr context(EVP_MD_CTX_new());
  size_t length = 0;
  if (!context ||
      EVP_DigestSignInit(context.get(), nullptr, EVP_sha256(), nullptr, key.get()) != 1 ||
      EVP_DigestSign(context.get(), nullptr, &length,
                     reinterpret_cast<const unsigned char*>(signing_input.data()),
                     signing_input.size()) != 1) {
    return Error{crypto::withOpenSslReason("cannot sign token")};
  }
  std::string signature(length, '\0');
  if (EVP_DigestSign(context.get(), reinterpret_cast<unsigned char*>(signature.data()), &length,
                     reinterpret_cast<const unsigned char*>(signing_input.data()),
                     signing_input.size()) != 1) {
    return Error{crypto::withOpenSslReason("cannot sign token")};
  }
  signature.resize(length);
  if (algorithm == JwsAlgorithm::kEs256) {
    auto raw = derToRawSignature(signature);
    if (!raw) return Error{"cannot sign token: malformed ECDSA signature"};
    signature = std::move(*raw);
  }
  return signing_input + "." + base64UrlEncode(signature);
}

crypto::Result<google::protobuf::Struct> parseJsonObject(std::string_view json) {
  google::protobuf::Struct object;
  auto status = google::protobuf::util::JsonStringToMessage(
      google::protobuf::StringPiece(json.data(), json.size()), &object);
  if (!status.ok()) {
    return Error{std::string(status.message())};
  }
  return object;
}

std::string toJson(const google::protobuf::Struct& object) {
  std::string json;
  // Cannot fail for a Struct: every value it can hold has a JSON form.
  (void)google::protobuf::util::MessageToJsonString(object, &json);
  return json;
}

}  // namespace remora::pilot::ca
