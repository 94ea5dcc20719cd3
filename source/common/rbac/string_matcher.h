#pragma once

// Istio's string match forms, as AuthorizationPolicy values use them: "abc" exact, "abc*"
// prefix, "*abc" suffix, and "*" alone for any non-empty value. A value starting with "*" is a
// suffix match even if it also ends with one ("*abc*" is the suffix "abc*"), as in Istio.

#include <cstdint>
#include <string>
#include <string_view>

namespace remora::rbac {

class StringMatcher {
 public:
  enum class Kind : uint8_t { kExact, kPrefix, kSuffix, kAny };

  // `ignore_case`: ASCII case-insensitive (hosts). `pattern` should not be empty (callers
  // reject empty values as config errors); an empty pattern matches only the empty string.
  explicit StringMatcher(std::string_view pattern, bool ignore_case = false);

  bool matches(std::string_view value) const;

  Kind kind() const { return kind_; }
  // The pattern without its "*" (lowercased when ignoring case).
  const std::string& text() const { return text_; }

 private:
  Kind kind_ = Kind::kExact;
  bool ignore_case_ = false;
  std::string text_;
};

}  // namespace remora::rbac
