#include "source/pilot/ca/token_review_authenticator.h"

#include <openssl/evp.h>

#include <algorithm>
#include <optional>

#include "source/pilot/ca/base64url.h"
#include "source/pilot/kubernetes/json_value.h"

namespace remora::pilot::ca {

using std::chrono::system_clock;

namespace {

// The raw SHA-256 digest of `token`: the cache key, so the cache never holds a usable token.
std::string sha256(std::string_view token) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  if (EVP_Digest(token.data(), token.size(), digest, &length, EVP_sha256(), nullptr) != 1) {
    return "";
  }
  return std::string(reinterpret_cast<const char*>(digest), length);
}

// The exp claim of a JWT, unverified; nullopt when the token is no JWT or has no numeric exp.
std::optional<system_clock::time_point> unverifiedExpiry(std::string_view token) {
  const size_t first_dot = token.find('.');
  if (first_dot == std::string_view::npos) return std::nullopt;
  const size_t second_dot = token.find('.', first_dot + 1);
  if (second_dot == std::string_view::npos) return std::nullopt;
  auto payload = base64UrlDecode(token.substr(first_dot + 1, second_dot - first_dot - 1));
  if (!payload) return std::nullopt;
  auto claims = kubernetes::JsonValue::parse(*payload);
  if (!claims.ok() || !claims.value().get("exp").isNumber()) return std::nullopt;
  return system_clock::time_point(std::chrono::seconds(claims.value().get("exp").asInteger()));
}

}  // namespace

crypto::Result<ServiceAccount> TokenReviewAuthenticator::authenticate(
    std::string_view token, system_clock::time_point now) const {
  std::string key = sha256(token);
  if (!key.empty()) {
    std::lock_guard<std::mutex> lock(mutex_);
    auto cached = cache_.find(key);
    if (cached != cache_.end()) {
      if (now < cached->second.expires) return cached->second.account;
      cache_.erase(cached);
    }
  }
  auto reviewed = reviewer_.verify(token, now);
  if (!reviewed.ok()) {
    return crypto::Error{reviewed.error()};
  }
  ServiceAccount account{reviewed->ns, reviewed->name};
  if (!key.empty()) {
    remember(std::move(key), account, token, now);
  }
  return account;
}

void TokenReviewAuthenticator::remember(std::string key, const ServiceAccount& account,
                                        std::string_view token,
                                        system_clock::time_point now) const {
  system_clock::time_point expires = now + options_.max_age;
  if (auto exp = unverifiedExpiry(token)) {
    expires = std::min(expires, *exp);
  }
  if (expires <= now || options_.max_entries == 0) {
    return;
  }
  std::lock_guard<std::mutex> lock(mutex_);
  if (cache_.size() >= options_.max_entries && !cache_.count(key)) {
    std::erase_if(cache_, [now](const auto& entry) { return entry.second.expires <= now; });
  }
  if (cache_.size() >= options_.max_entries && !cache_.count(key)) {
    auto soonest = std::min_element(cache_.begin(), cache_.end(), [](const auto& a, const auto& b) {
      return a.second.expires < b.second.expires;
    });
    cache_.erase(soonest);
  }
  cache_[std::move(key)] = CachedAnswer{account, expires};
}

std::size_t TokenReviewAuthenticator::cachedAnswers() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return cache_.size();
}

}  // namespace remora::pilot::ca
