#include "source/common/http/normalize/path_normalizer.h"

#include <array>

namespace remora::http {
namespace {

enum CharClass : uint8_t {
  kUnreserved = 1,    // ALPHA DIGIT - . _ ~
  kNotInPath = 2,     // printable, but outside RFC 3986's path grammar: " < > [ ] ^ ` { | }
  kNeverAllowed = 4,  // controls, space, DEL: refused in every mode
};

constexpr std::array<uint8_t, 256> makeClasses() {
  std::array<uint8_t, 256> table{};
  for (int c = 0; c <= 0x20; ++c) table[c] = kNeverAllowed;
  table[0x7f] = kNeverAllowed;
  for (int c = 'a'; c <= 'z'; ++c) table[c] = kUnreserved;
  for (int c = 'A'; c <= 'Z'; ++c) table[c] = kUnreserved;
  for (int c = '0'; c <= '9'; ++c) table[c] = kUnreserved;
  for (char c : {'-', '.', '_', '~'}) table[static_cast<uint8_t>(c)] = kUnreserved;
  for (char c : {'"', '<', '>', '[', ']', '^', '`', '{', '|', '}'}) {
    table[static_cast<uint8_t>(c)] = kNotInPath;
  }
  for (int c = 0x80; c <= 0xff; ++c) table[c] = kNotInPath;
  return table;
}
constexpr std::array<uint8_t, 256> kClasses = makeClasses();

inline bool is(char c, CharClass cls) { return (kClasses[static_cast<uint8_t>(c)] & cls) != 0; }

inline int hexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

inline char upperHex(char c) { return c >= 'a' && c <= 'f' ? static_cast<char>(c - 32) : c; }

void appendEncoded(std::string& out, uint8_t byte) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  out.push_back('%');
  out.push_back(kHex[byte >> 4]);
  out.push_back(kHex[byte & 0xf]);
}

// Whether the rewriting pass could change `path`: the common, already clean path is left
// alone without a copy.
bool mayChange(std::string_view path, const PathNormalizationOptions& options) {
  bool none = options.mode == PathNormalization::kNone;
  bool merge = options.mode >= PathNormalization::kMergeSlashes;
  char previous = 0;
  for (char c : path) {
    if (c == '%') return true;
    if (!none) {
      if (c == '\\' || is(c, kNotInPath)) return true;
      if (previous == '/' && (c == '.' || (merge && c == '/'))) return true;
    }
    previous = c;
  }
  return false;
}

void mergeSlashes(std::string& path) {
  size_t kept = 0;
  for (size_t i = 0; i < path.size(); ++i) {
    if (path[i] == '/' && kept > 0 && path[kept - 1] == '/') continue;
    path[kept++] = path[i];
  }
  path.resize(kept);
}

struct Rewrite {
  NormalizationError error = NormalizationError::kNone;
  bool unescaped_slash = false;
};

// Percent-decoding, escaped slashes, '\' and characters outside the grammar, into `out`.
Rewrite rewriteCharacters(std::string_view path, const PathNormalizationOptions& options,
                          std::string& out) {
  Rewrite result;
  bool none = options.mode == PathNormalization::kNone;
  for (size_t i = 0; i < path.size(); ++i) {
    char c = path[i];
    if (c == '%') {
      int high = i + 2 < path.size() ? hexValue(path[i + 1]) : -1;
      int low = i + 2 < path.size() ? hexValue(path[i + 2]) : -1;
      if (high < 0 || low < 0) {
        if (!none) {
          result.error = NormalizationError::kInvalidPercentEncoding;
          return result;
        }
        out.push_back(c);  // NONE forwards what it does not understand
        continue;
      }
      char decoded = static_cast<char>(high * 16 + low);
      if (decoded == '/' || decoded == '\\') {
        switch (options.escaped_slashes) {
          case EscapedSlashesAction::kRejectRequest:
            result.error = NormalizationError::kEscapedSlash;
            return result;
          case EscapedSlashesAction::kKeepUnchanged:
            out.push_back('%');
            out.push_back(none ? path[i + 1] : upperHex(path[i + 1]));
            out.push_back(none ? path[i + 2] : upperHex(path[i + 2]));
            break;
          case EscapedSlashesAction::kUnescapeAndRedirect:
          case EscapedSlashesAction::kUnescapeAndForward:
            result.unescaped_slash = true;
            out.push_back(none ? decoded : '/');
            break;
        }
      } else if (!none && is(decoded, kUnreserved)) {
        out.push_back(decoded);
      } else {
        out.push_back('%');
        out.push_back(none ? path[i + 1] : upperHex(path[i + 1]));
        out.push_back(none ? path[i + 2] : upperHex(path[i + 2]));
      }
      i += 2;
    } else if (none) {
      out.push_back(c);
    } else if (c == '\\') {
      out.push_back('/');
    } else if (is(c, kNotInPath)) {
      appendEncoded(out, static_cast<uint8_t>(c));
    } else {
      out.push_back(c);
    }
  }
  return result;
}

PathResult rejected(NormalizationError error) {
  PathResult result;
  result.outcome = PathResult::Outcome::kRejected;
  result.error = error;
  return result;
}

}  // namespace

EscapedSlashesAction PathNormalizationOptions::defaultAction(PathNormalization mode) {
  switch (mode) {
    case PathNormalization::kNone:
      return EscapedSlashesAction::kKeepUnchanged;
    case PathNormalization::kDecodeAndMergeSlashes:
      return EscapedSlashesAction::kUnescapeAndForward;
    case PathNormalization::kBase:
    case PathNormalization::kMergeSlashes:
      break;
  }
  return EscapedSlashesAction::kRejectRequest;
}

std::string removeDotSegments(std::string_view path) {
  std::string out;
  out.reserve(path.size());
  size_t i = 0;
  while (i < path.size()) {
    // path[i] is the '/' opening a segment.
    size_t end = path.find('/', i + 1);
    if (end == std::string_view::npos) end = path.size();
    std::string_view segment = path.substr(i + 1, end - i - 1);
    bool last = end == path.size();
    if (segment == "..") {
      size_t cut = out.rfind('/');
      out.resize(cut == std::string::npos ? 0 : cut);
      if (last) out.push_back('/');
    } else if (segment == ".") {
      if (last) out.push_back('/');
    } else {
      out.push_back('/');
      out.append(segment);
    }
    i = end;
  }
  if (out.empty()) out.push_back('/');
  return out;
}

PathResult normalizePath(std::string_view target, const PathNormalizationOptions& options) {
  if (target.empty() || target[0] != '/') return rejected(NormalizationError::kInvalidPath);
  for (char c : target) {
    if (c == '#') return rejected(NormalizationError::kFragment);
    if (is(c, kNeverAllowed)) return rejected(NormalizationError::kInvalidPathCharacter);
  }
  size_t query_at = target.find('?');
  std::string_view path = target.substr(0, query_at);
  if (!mayChange(path, options)) return {};

  std::string rewritten;
  rewritten.reserve(target.size() + 8);
  Rewrite rewrite = rewriteCharacters(path, options, rewritten);
  if (rewrite.error != NormalizationError::kNone) return rejected(rewrite.error);
  if (options.mode >= PathNormalization::kMergeSlashes) mergeSlashes(rewritten);
  if (options.mode != PathNormalization::kNone) rewritten = removeDotSegments(rewritten);

  PathResult result;
  if (query_at != std::string_view::npos) rewritten.append(target.substr(query_at));
  if (rewritten == target) return result;
  result.path = std::move(rewritten);
  result.outcome = rewrite.unescaped_slash &&
                           options.escaped_slashes == EscapedSlashesAction::kUnescapeAndRedirect
                       ? PathResult::Outcome::kRedirect
                       : PathResult::Outcome::kNormalized;
  return result;
}

}  // namespace remora::http
