#pragma once

// Host names compared the way DNS compares them: ASCII letters without regard to case, every
// other byte as is (never the locale's rules). What lets the route table find a request's host
// among its lowercase domains without first copying it to lowercase.

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace remora::router {

inline char asciiLower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c + 32) : c; }

inline bool equalsIgnoringAsciiCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (asciiLower(a[i]) != asciiLower(b[i])) return false;
  }
  return true;
}

inline bool startsWithIgnoringAsciiCase(std::string_view text, std::string_view prefix) {
  return text.size() >= prefix.size() &&
         equalsIgnoringAsciiCase(text.substr(0, prefix.size()), prefix);
}

inline bool endsWithIgnoringAsciiCase(std::string_view text, std::string_view suffix) {
  return text.size() >= suffix.size() &&
         equalsIgnoringAsciiCase(text.substr(text.size() - suffix.size()), suffix);
}

// Hash and equality for unordered containers keyed by host names; transparent, so find()
// takes a std::string_view in any case without building a std::string.
struct AsciiCaseInsensitiveHash {
  using is_transparent = void;
  size_t operator()(std::string_view text) const {
    // FNV-1a over the lowercased bytes.
    uint64_t hash = 14695981039346656037ull;
    for (char c : text) {
      hash ^= static_cast<unsigned char>(asciiLower(c));
      hash *= 1099511628211ull;
    }
    return static_cast<size_t>(hash);
  }
};

struct AsciiCaseInsensitiveEqual {
  using is_transparent = void;
  bool operator()(std::string_view a, std::string_view b) const {
    return equalsIgnoringAsciiCase(a, b);
  }
};

}  // namespace remora::router
