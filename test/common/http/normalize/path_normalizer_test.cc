// Path normalization, table-driven: the bypasses of issue 14, the paths of Istio's and
// Envoy's advisories (CVE-2019-9901, CVE-2021-31920, CVE-2021-39156), mixed and invalid
// encodings, dot segments at every position, control characters, each mode and each
// escaped-slash action. Every case names what it checks, and failures print it.

#include "source/common/http/normalize/path_normalizer.h"

#include <vector>

#include "gtest/gtest.h"

namespace remora::http {
namespace {

using Outcome = PathResult::Outcome;
using Mode = PathNormalization;
using Action = EscapedSlashesAction;

constexpr const char* kSame = "<unchanged>";

struct Case {
  const char* name;
  const char* input;
  // What comes out: the path forwarded (kSame when unchanged), or the redirect's location.
  const char* expected;
  Outcome outcome = Outcome::kNormalized;
  NormalizationError error = NormalizationError::kNone;
};

Case same(const char* name, const char* input) { return {name, input, kSame, Outcome::kUnchanged}; }
Case to(const char* name, const char* input, const char* expected) {
  return {name, input, expected, Outcome::kNormalized};
}
Case refused(const char* name, const char* input, NormalizationError error) {
  return {name, input, "", Outcome::kRejected, error};
}
Case redirect(const char* name, const char* input, const char* location) {
  return {name, input, location, Outcome::kRedirect};
}

void check(const std::vector<Case>& cases, Mode mode, Action action) {
  PathNormalizationOptions options{mode, action};
  for (const Case& c : cases) {
    PathResult result = normalizePath(c.input, options);
    SCOPED_TRACE(std::string("case '") + c.name + "': " + c.input);
    EXPECT_EQ(static_cast<int>(result.outcome), static_cast<int>(c.outcome))
        << "got path '" << result.path << "' error " << normalizationErrorName(result.error);
    EXPECT_EQ(normalizationErrorName(result.error), normalizationErrorName(c.error));
    if (c.outcome == Outcome::kNormalized || c.outcome == Outcome::kRedirect) {
      EXPECT_EQ(result.path, c.expected);
    }
  }
}

// Refused in every mode: what no server should accept.
std::vector<Case> invalidEverywhere() {
  return {
      refused("fragment", "/public#/../admin", NormalizationError::kFragment),
      refused("fragment only", "/admin#", NormalizationError::kFragment),
      refused("fragment in query", "/a?b#c", NormalizationError::kFragment),
      refused("tab", "/ad\tmin", NormalizationError::kInvalidPathCharacter),
      refused("CR", "/admin\r", NormalizationError::kInvalidPathCharacter),
      refused("LF in query", "/a?x=\n", NormalizationError::kInvalidPathCharacter),
      refused("space", "/ad min", NormalizationError::kInvalidPathCharacter),
      refused("DEL", "/ad\x7fmin", NormalizationError::kInvalidPathCharacter),
      refused("form feed", "/a\fb", NormalizationError::kInvalidPathCharacter),
      refused("relative", "admin", NormalizationError::kInvalidPath),
      refused("empty", "", NormalizationError::kInvalidPath),
      refused("asterisk (caller's case)", "*", NormalizationError::kInvalidPath),
  };
}

TEST(PathNormalizerTest, NulByteRefused) {
  // Not in the table: its inputs are C strings.
  for (Mode mode : {Mode::kNone, Mode::kBase}) {
    std::string path("/ad\0min", 7);
    EXPECT_EQ(normalizePath(path, {mode, Action::kKeepUnchanged}).error,
              NormalizationError::kInvalidPathCharacter);
  }
}

TEST(PathNormalizerTest, InvalidInEveryMode) {
  for (Mode mode : {Mode::kNone, Mode::kBase, Mode::kMergeSlashes, Mode::kDecodeAndMergeSlashes}) {
    SCOPED_TRACE("mode " + std::to_string(static_cast<int>(mode)));
    check(invalidEverywhere(), mode, PathNormalizationOptions::defaultAction(mode));
  }
}

TEST(PathNormalizerTest, Base) {
  check(
      {
          same("plain", "/reviews/1"),
          same("root", "/"),
          same("query untouched", "/a?b=%2e%2e/../x&c=%zz"),
          same("trailing slash", "/a/"),
          same("dots inside names", "/a.b/..c/c../...d/.e"),
          same("upper-case encoding kept", "/a%20b%3F"),
          same("double slash kept", "//admin"),
          same("sub-delims and colon", "/a:b@c!$&'()*+,;="),
          // Issue 14's bypasses.
          to("dot-dot", "/public/../admin", "/admin"),
          to("dot", "/./admin", "/admin"),
          to("encoded unreserved", "/%61dmin", "/admin"),
          to("encoded dot-dot", "/public/%2e%2e/admin", "/admin"),
          to("encoded dot-dot upper", "/public/%2E%2E/admin", "/admin"),
          to("encoded dot-dot mixed", "/public/.%2E/admin", "/admin"),
          to("encoded dot-dot mixed 2", "/public/%2e./admin", "/admin"),
          to("encoded dot", "/%2e/admin", "/admin"),
          refused("escaped slash", "/admin%2f/x", NormalizationError::kEscapedSlash),
          refused("escaped slash upper", "/admin%2F/x", NormalizationError::kEscapedSlash),
          refused("escaped backslash", "/admin%5c/x", NormalizationError::kEscapedSlash),
          refused("escaped backslash upper", "/admin%5C/x", NormalizationError::kEscapedSlash),
          // Dot segments at every position (RFC 3986 5.2.4).
          to("dot-dot at root", "/..", "/"),
          to("dot-dot above root", "/../../admin", "/admin"),
          to("dot at root", "/.", "/"),
          to("dot-dot at end", "/a/b/..", "/a/"),
          to("dot at end", "/a/b/.", "/a/b/"),
          to("dot-dot in middle", "/a/b/../c", "/a/c"),
          to("dot in middle", "/a/./b", "/a/b"),
          to("several", "/a/./b/../../c/./d/..", "/c/"),
          to("dot-dot after double slash", "/a//../b", "/a/b"),
          to("dot-dot with query", "/a/../b?x=/../y", "/b?x=/../y"),
          to("dot-dot then slash", "/a/../", "/"),
          // Encodings.
          to("hex upper-cased", "/a%3fb%c3%a9", "/a%3Fb%C3%A9"),
          to("encoded tilde", "/%7euser", "/~user"),
          to("encoded digits and dash", "/%41%5A%30%2D%5F", "/AZ0-_"),
          same("percent stays encoded", "/100%25"),
          same("encoded percent not decoded twice", "/%252e%252e/admin"),
          refused("invalid hex", "/a%zz", NormalizationError::kInvalidPercentEncoding),
          refused("half hex", "/a%4", NormalizationError::kInvalidPercentEncoding),
          refused("lone percent", "/a%", NormalizationError::kInvalidPercentEncoding),
          refused("hex then invalid", "/a%4g", NormalizationError::kInvalidPercentEncoding),
          // Characters outside the grammar.
          to("backslash is a slash", "/admin\\x", "/admin/x"),
          to("backslash dot-dot", "/public\\..\\admin", "/admin"),
          to("non-path printable encoded", "/a\"<>[]^`{|}", "/a%22%3C%3E%5B%5D%5E%60%7B%7C%7D"),
          to("raw UTF-8 encoded", "/caf\xc3\xa9", "/caf%C3%A9"),
          to("encoded and raw UTF-8 agree", "/caf%c3%a9", "/caf%C3%A9"),
          // Advisories. CVE-2019-9901 (Envoy): dot segments reach the upstream.
          to("CVE-2019-9901", "/public/../private", "/private"),
          // CVE-2021-31920 (Istio): escaped slashes.
          refused("CVE-2021-31920", "/admin%2Fusers", NormalizationError::kEscapedSlash),
          // CVE-2021-39156 (Istio): a fragment in the path.
          refused("CVE-2021-39156", "/public#/../admin", NormalizationError::kFragment),
      },
      Mode::kBase, Action::kRejectRequest);
}

TEST(PathNormalizerTest, None) {
  check(
      {
          same("dot-dot kept", "/public/../admin"),
          same("encoded kept", "/%61dmin"),
          same("lower-case hex kept", "/a%3f"),
          same("invalid encoding forwarded", "/a%zz"),
          same("backslash kept", "/admin\\x"),
          same("escaped slash kept", "/admin%2f/x"),
          same("UTF-8 kept", "/caf\xc3\xa9"),
          same("double slash kept", "//admin"),
      },
      Mode::kNone, Action::kKeepUnchanged);
  // The escaped-slash action applies in NONE too.
  check({refused("reject", "/admin%2f/x", NormalizationError::kEscapedSlash)}, Mode::kNone,
        Action::kRejectRequest);
  check({to("forward", "/admin%2f/x%5c%2e", "/admin//x\\%2e")}, Mode::kNone,
        Action::kUnescapeAndForward);
}

TEST(PathNormalizerTest, MergeSlashes) {
  check(
      {
          same("plain", "/a/b"),
          to("leading double slash", "//admin", "/admin"),
          to("many slashes", "/a///b////c", "/a/b/c"),
          to("trailing slashes", "/a//", "/a/"),
          to("merged before dot segments", "/public//../admin", "/admin"),
          to("dot-dot with merge", "/a//b/..//c", "/a/c"),
          to("backslashes merge too", "/\\\\admin", "/admin"),
          same("query slashes kept", "/a?x=//y"),
          refused("escaped slash", "/admin%2f/x", NormalizationError::kEscapedSlash),
      },
      Mode::kMergeSlashes, Action::kRejectRequest);
}

TEST(PathNormalizerTest, DecodeAndMergeSlashes) {
  check(
      {
          to("escaped slash decoded", "/admin%2f/x", "/admin/x"),
          to("escaped slash upper", "/admin%2Fx", "/admin/x"),
          to("escaped backslash", "/admin%5Cx", "/admin/x"),
          to("escaped dot-dot and slashes", "/public%2F%2E%2E%2Fadmin", "/admin"),
          to("decoded then merged", "/%2F%2Fadmin", "/admin"),
          same("plain", "/a/b"),
      },
      Mode::kDecodeAndMergeSlashes, Action::kUnescapeAndForward);
}

TEST(PathNormalizerTest, EscapedSlashActions) {
  check({same("kept", "/admin%2F/x"), to("kept, hex upper-cased", "/admin%2f/x", "/admin%2F/x"),
         to("kept: '..%2F' is no dot segment", "/a/..%2f", "/a/..%2F")},
        Mode::kBase, Action::kKeepUnchanged);
  check({to("forwarded", "/admin%2f/x", "/admin//x"),
         to("forwarded, dots", "/a%2f..%2fadmin", "/admin")},
        Mode::kBase, Action::kUnescapeAndForward);
  check({redirect("redirect", "/admin%2f/x?q=%2f", "/admin//x?q=%2f"),
         redirect("redirect merged", "/admin%2Fx", "/admin/x"),
         to("no escaped slash: no redirect", "/a/../b", "/b")},
        Mode::kBase, Action::kUnescapeAndRedirect);
  check({redirect("redirect merged", "/admin%2F%2Fx", "/admin/x")}, Mode::kMergeSlashes,
        Action::kUnescapeAndRedirect);
}

TEST(PathNormalizerTest, DefaultActions) {
  EXPECT_EQ(PathNormalizationOptions::defaultAction(Mode::kNone), Action::kKeepUnchanged);
  EXPECT_EQ(PathNormalizationOptions::defaultAction(Mode::kBase), Action::kRejectRequest);
  EXPECT_EQ(PathNormalizationOptions::defaultAction(Mode::kMergeSlashes), Action::kRejectRequest);
  EXPECT_EQ(PathNormalizationOptions::defaultAction(Mode::kDecodeAndMergeSlashes),
            Action::kUnescapeAndForward);
  PathNormalizationOptions defaults;
  EXPECT_EQ(defaults.mode, Mode::kBase);
  EXPECT_EQ(defaults.escaped_slashes, Action::kRejectRequest);
}

TEST(PathNormalizerTest, RemoveDotSegmentsFollowsRfc3986Examples) {
  // RFC 3986 5.2.4's own examples, on absolute paths.
  EXPECT_EQ(removeDotSegments("/a/b/c/./../../g"), "/a/g");
  EXPECT_EQ(removeDotSegments("/mid/content=5/../6"), "/mid/6");
  EXPECT_EQ(removeDotSegments("/b/c/d;p/../../g"), "/b/g");
  EXPECT_EQ(removeDotSegments("/"), "/");
  EXPECT_EQ(removeDotSegments("/a/..//b"), "//b");
}

TEST(PathNormalizerTest, NormalizedPathIsStable) {
  // Normalizing twice changes nothing the second time: the upstream sees a fixed point.
  PathNormalizationOptions options{Mode::kMergeSlashes, Action::kUnescapeAndForward};
  for (const char* input :
       {"/public/%2e%2e/admin", "//a/./b/../c%2f%41", "/caf\xc3\xa9/\\x", "/a%3f/..%2F.."}) {
    PathResult first = normalizePath(input, options);
    ASSERT_EQ(first.outcome, Outcome::kNormalized) << input;
    EXPECT_EQ(normalizePath(first.path, options).outcome, Outcome::kUnchanged) << input;
  }
}

}  // namespace
}  // namespace remora::http
