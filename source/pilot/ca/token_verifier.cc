#include "source/pilot/ca/token_verifier.h"

#include <cmath>
#include <optional>

#include "source/common/crypto/openssl_util.h"
#include "source/pilot/ca/jws.h"

namespace remora::pilot::ca {

using crypto::Error;
using crypto::quoteForMessage;
using google::protobuf::Struct;
using google::protobuf::Value;

namespace {

// Far larger than any real token (Kubernetes' are about 1 KiB) and small enough that a
// hostile caller cannot make pilot decode megabytes per request.
constexpr size_t kMaxTokenBytes = 16 * 1024;
constexpr char kServiceAccountSubjectPrefix[] = "system:serviceaccount:";

const Value* field(const Struct& object, const std::string& name) {
  auto it = object.fields().find(name);
  return it == object.fields().end() ? nullptr : &it->second;
}

const std::string* stringField(const Struct& object, const std::string& name) {
  const Value* value = field(object, name);
  return value != nullptr && value->kind_case() == Value::kStringValue ? &value->string_value()
                                                                       : nullptr;
}

// A NumericDate claim (seconds since the epoch). Errors: present but not a sane number.
crypto::Result<std::optional<std::chrono::system_clock::time_point>> timeClaim(
    const Struct& claims, const std::string& name) {
  const Value* value = field(claims, name);
  if (value == nullptr) {
    return std::optional<std::chrono::system_clock::time_point>();
  }
  // Bounded so that the conversion to a time point (nanoseconds in int64) cannot overflow.
  constexpr double kMaxSeconds = 1e11;
  if (value->kind_case() != Value::kNumberValue || !std::isfinite(value->number_value()) ||
      std::fabs(value->number_value()) > kMaxSeconds) {
    return Error{"token claim " + name + " is not a NumericDate"};
  }
  return std::optional(std::chrono::system_clock::time_point(
      std::chrono::seconds(static_cast<int64_t>(std::floor(value->number_value())))));
}

std::string audienceText(const Value& aud) {
  if (aud.kind_case() == Value::kStringValue) {
    return quoteForMessage(aud.string_value());
  }
  std::string text = "[";
  for (const Value& item : aud.list_value().values()) {
    if (text.size() > 1) text += ",";
    text += item.kind_case() == Value::kStringValue ? quoteForMessage(item.string_value()) : "?";
  }
  return text + "]";
}

crypto::Status checkAudience(const Struct& claims, const std::string& audience) {
  const Value* aud = field(claims, "aud");
  if (aud == nullptr) {
    return Error{"token has no aud claim (expected " + quoteForMessage(audience) + ")"};
  }
  if (aud->kind_case() == Value::kStringValue) {
    if (aud->string_value() == audience) return {};
  } else if (aud->kind_case() == Value::kListValue) {
    for (const Value& item : aud->list_value().values()) {
      if (item.kind_case() == Value::kStringValue && item.string_value() == audience) return {};
    }
  } else {
    return Error{"token claim aud is neither a string nor an array"};
  }
  return Error{"token audience " + audienceText(*aud) + " does not include " +
               quoteForMessage(audience)};
}

crypto::Result<ServiceAccount> serviceAccountOf(const Struct& claims) {
  // A projected token: {"kubernetes.io": {"namespace": ..., "serviceaccount": {"name": ...}}}.
  const Value* kubernetes = field(claims, "kubernetes.io");
  if (kubernetes != nullptr && kubernetes->kind_case() == Value::kStructValue) {
    const std::string* ns = stringField(kubernetes->struct_value(), "namespace");
    const Value* account = field(kubernetes->struct_value(), "serviceaccount");
    const std::string* name = account != nullptr && account->kind_case() == Value::kStructValue
                                  ? stringField(account->struct_value(), "name")
                                  : nullptr;
    if (ns == nullptr || name == nullptr || ns->empty() || name->empty()) {
      return Error{"token claim kubernetes.io lacks namespace or serviceaccount.name (strings)"};
    }
    return ServiceAccount{*ns, *name};
  }
  // A legacy (secret-based) token names the account only in sub.
  const std::string* sub = stringField(claims, "sub");
  if (sub != nullptr && sub->starts_with(kServiceAccountSubjectPrefix)) {
    const std::string rest = sub->substr(sizeof(kServiceAccountSubjectPrefix) - 1);
    const size_t colon = rest.find(':');
    if (colon != std::string::npos && colon > 0 && colon + 1 < rest.size() &&
        rest.find(':', colon + 1) == std::string::npos) {
      return ServiceAccount{rest.substr(0, colon), rest.substr(colon + 1)};
    }
  }
  return Error{"token names no service account: no kubernetes.io claim, and sub " +
               (sub != nullptr ? quoteForMessage(*sub) : std::string("(missing)")) +
               " is not system:serviceaccount:<namespace>:<name>"};
}

}  // namespace

crypto::Result<ServiceAccount> TokenVerifier::verify(
    std::string_view token, std::chrono::system_clock::time_point now) const {
  if (!keys_) {
    return Error{"no token keys are configured (--token-public-key): every token is refused"};
  }
  if (token.empty()) {
    return Error{"empty token"};
  }
  if (token.size() > kMaxTokenBytes) {
    return Error{"token is longer than " + std::to_string(kMaxTokenBytes) + " bytes"};
  }
  auto jws = parseCompactJws(token);
  if (!jws.ok()) {
    return Error{"token is malformed: " + jws.error()};
  }

  // The header decides how to check the signature; nothing else in it or the payload is
  // believed until that check passes.
  const std::string* alg = stringField(jws->header, "alg");
  if (alg == nullptr) {
    return Error{"token header has no alg"};
  }
  const std::optional<JwsAlgorithm> algorithm = algorithmNamed(*alg);
  if (!algorithm) {
    return Error{"token algorithm " + quoteForMessage(*alg) +
                 " is not accepted (only RS256 and ES256)"};
  }
  // RFC 7515 section 4.1.11: extensions the recipient does not understand must be refused.
  if (field(jws->header, "crit") != nullptr) {
    return Error{"token header has critical extensions (crit), which are not supported"};
  }
  const std::shared_ptr<const TokenKeySet> keys = keys_->current();
  size_t candidates = 0;
  bool verified = false;
  for (const TokenKey& key : *keys) {
    if (key.type != keyTypeFor(*algorithm)) continue;
    ++candidates;
    if (verifyJwsSignature(*algorithm, key.public_key.get(), jws->signing_input, jws->signature)) {
      verified = true;
      break;
    }
  }
  if (!verified) {
    const char* kind = *algorithm == JwsAlgorithm::kRs256 ? "RSA" : "EC P-256";
    if (candidates == 0) {
      return Error{"token is signed with " + *alg + " but " + keys_->path() + " holds no " + kind +
                   " key"};
    }
    return Error{"token signature does not verify with any of the " + std::to_string(candidates) +
                 " " + kind + " keys in " + keys_->path()};
  }

  auto claims = parseJsonObject(jws->payload);
  if (!claims.ok()) {
    return Error{"token payload is not a JSON object: " + claims.error()};
  }
  auto expires = timeClaim(*claims, "exp");
  auto not_before = timeClaim(*claims, "nbf");
  if (!expires.ok()) return Error{expires.error()};
  if (!not_before.ok()) return Error{not_before.error()};
  const std::string clock = " (now " + crypto::formatTime(now) + ", leeway " +
                            std::to_string(options_.leeway.count()) + "s)";
  if (!*expires) {
    return Error{"token has no exp claim (tokens that never expire are not accepted)"};
  }
  if (now >= **expires + options_.leeway) {
    return Error{"token expired at " + crypto::formatTime(**expires) + clock};
  }
  if (*not_before && now < **not_before - options_.leeway) {
    return Error{"token is not valid before " + crypto::formatTime(**not_before) + clock};
  }
  if (auto status = checkAudience(*claims, options_.audience); !status.ok()) {
    return Error{status.error()};
  }
  if (!options_.issuer.empty()) {
    const std::string* iss = stringField(*claims, "iss");
    if (iss == nullptr || *iss != options_.issuer) {
      return Error{"token issuer " +
                   (iss != nullptr ? quoteForMessage(*iss) : std::string("(missing)")) +
                   " is not the expected " + quoteForMessage(options_.issuer)};
    }
  }
  return serviceAccountOf(*claims);
}

}  // namespace remora::pilot::ca
