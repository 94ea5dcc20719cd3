#include "source/common/rbac/string_matcher.h"

#include <algorithm>

namespace remora::rbac {
namespace {

char lowerAscii(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

// `pattern` is already lowercase when `ignore_case`.
bool equal(std::string_view value, std::string_view pattern, bool ignore_case) {
  if (value.size() != pattern.size()) return false;
  if (!ignore_case) return value == pattern;
  return std::equal(value.begin(), value.end(), pattern.begin(),
                    [](char v, char p) { return lowerAscii(v) == p; });
}

}  // namespace

StringMatcher::StringMatcher(std::string_view pattern, bool ignore_case)
    : ignore_case_(ignore_case) {
  if (pattern == "*") {
    kind_ = Kind::kAny;
  } else if (pattern.size() > 1 && pattern.front() == '*') {
    kind_ = Kind::kSuffix;
    pattern.remove_prefix(1);
  } else if (pattern.size() > 1 && pattern.back() == '*') {
    kind_ = Kind::kPrefix;
    pattern.remove_suffix(1);
  }
  text_.assign(pattern);
  if (ignore_case_) std::transform(text_.begin(), text_.end(), text_.begin(), lowerAscii);
}

bool StringMatcher::matches(std::string_view value) const {
  switch (kind_) {
    case Kind::kExact:
      return equal(value, text_, ignore_case_);
    case Kind::kPrefix:
      return value.size() >= text_.size() &&
             equal(value.substr(0, text_.size()), text_, ignore_case_);
    case Kind::kSuffix:
      return value.size() >= text_.size() &&
             equal(value.substr(value.size() - text_.size()), text_, ignore_case_);
    case Kind::kAny:
      return !value.empty();
  }
  return false;
}

}  // namespace remora::rbac
