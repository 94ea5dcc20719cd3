// Authority normalization, table-driven: case, trailing dots, ports, characters outside
// RFC 3986's grammar, IPv4 and IPv6 literals. Failures print the case's name.

#include "source/common/http/normalize/authority_normalizer.h"

#include <vector>

#include "gtest/gtest.h"

namespace remora::http {
namespace {

using Outcome = AuthorityResult::Outcome;

struct Case {
  const char* name;
  const char* input;
  Outcome outcome;
  const char* expected = "";  // kNormalized: the new value
};

TEST(AuthorityNormalizerTest, Table) {
  const std::vector<Case> cases = {
      {"plain", "reviews", Outcome::kUnchanged},
      {"with port", "reviews.default.svc.cluster.local:9080", Outcome::kUnchanged},
      {"empty is the caller's business", "", Outcome::kUnchanged},
      {"IPv4", "10.0.0.1:80", Outcome::kUnchanged},
      {"underscore and tilde", "a_b~c", Outcome::kUnchanged},
      {"sub-delims", "a!$&'()*+,;=b", Outcome::kUnchanged},
      // Issue 14: a DENY on admin.example.com.
      {"trailing dot", "admin.example.com.", Outcome::kNormalized, "admin.example.com"},
      {"trailing dot before port", "admin.example.com.:8080", Outcome::kNormalized,
       "admin.example.com:8080"},
      {"upper case", "Admin.EXAMPLE.com", Outcome::kNormalized, "admin.example.com"},
      {"encoded unreserved", "%61dmin.example.com", Outcome::kNormalized, "admin.example.com"},
      {"encoded upper", "%41dmin.example.com", Outcome::kNormalized, "admin.example.com"},
      {"IPv4 trailing dot", "10.0.0.1.", Outcome::kNormalized, "10.0.0.1"},
      {"empty port dropped", "reviews:", Outcome::kNormalized, "reviews"},
      {"port leading zeros", "reviews:0080", Outcome::kNormalized, "reviews:80"},
      {"two trailing dots", "admin.example.com..", Outcome::kRejected},
      {"only a dot", ".", Outcome::kRejected},
      {"leading dot", ".admin.example.com", Outcome::kRejected},
      {"empty label", "admin..example.com", Outcome::kRejected},
      {"empty host with port", ":80", Outcome::kRejected},
      {"port zero", "reviews:0", Outcome::kRejected},
      {"port too big", "reviews:65536", Outcome::kRejected},
      {"port huge", "reviews:99999999999999999999", Outcome::kRejected},
      {"port max", "reviews:65535", Outcome::kUnchanged},
      {"port not digits", "reviews:80a", Outcome::kRejected},
      {"port sign", "reviews:+80", Outcome::kRejected},
      {"two ports", "reviews:80:81", Outcome::kRejected},
      {"userinfo", "user@admin.example.com", Outcome::kRejected},
      {"slash", "admin.example.com/x", Outcome::kRejected},
      {"backslash", "admin.example.com\\x", Outcome::kRejected},
      {"space", "admin example.com", Outcome::kRejected},
      {"tab", "admin.example.com\t", Outcome::kRejected},
      {"NUL-free control", "admin\x01.example.com", Outcome::kRejected},
      {"DEL", "admin\x7f", Outcome::kRejected},
      {"question mark", "admin.example.com?x", Outcome::kRejected},
      {"hash", "admin.example.com#x", Outcome::kRejected},
      {"UTF-8", "caf\xc3\xa9.example.com", Outcome::kRejected},
      {"encoded non-unreserved", "admin%2eexample%2Fcom", Outcome::kRejected},
      {"encoded dot is unreserved", "admin%2Eexample.com", Outcome::kNormalized,
       "admin.example.com"},
      {"invalid encoding", "admin%zz", Outcome::kRejected},
      {"truncated encoding", "admin%4", Outcome::kRejected},
      {"encoded UTF-8", "caf%C3%A9", Outcome::kRejected},
      {"quote", "\"admin\"", Outcome::kRejected},
      // IP literals.
      {"IPv6", "[::1]", Outcome::kUnchanged},
      {"IPv6 with port", "[2001:db8::1]:8080", Outcome::kUnchanged},
      {"IPv6 upper case", "[2001:DB8::A]:80", Outcome::kNormalized, "[2001:db8::a]:80"},
      {"IPv6 mapped IPv4", "[::ffff:10.0.0.1]", Outcome::kUnchanged},
      {"IPv6 port zeros", "[::1]:080", Outcome::kNormalized, "[::1]:80"},
      {"IPv6 empty port", "[::1]:", Outcome::kNormalized, "[::1]"},
      {"IPv6 unclosed", "[::1", Outcome::kRejected},
      {"IPv6 empty", "[]", Outcome::kRejected},
      {"IPv6 invalid", "[::g]", Outcome::kRejected},
      {"IPv6 too many groups", "[1:2:3:4:5:6:7:8:9]", Outcome::kRejected},
      {"IPv6 two double colons", "[1::2::3]", Outcome::kRejected},
      {"IPv6 zone", "[fe80::1%25eth0]", Outcome::kRejected},
      {"IPv6 junk after", "[::1]x", Outcome::kRejected},
      {"IPv6 bad port", "[::1]:x", Outcome::kRejected},
      {"IPv6 without brackets", "::1", Outcome::kRejected},
      {"IPv4 in brackets", "[10.0.0.1]", Outcome::kRejected},
      {"IPvFuture", "[v1.fe80::a+en1]", Outcome::kUnchanged},
      {"IPvFuture upper", "[V1F.X]", Outcome::kNormalized, "[v1f.x]"},
      {"IPvFuture no hex", "[v.x]", Outcome::kRejected},
      {"IPvFuture bad char", "[v1.a/b]", Outcome::kRejected},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(std::string("case '") + c.name + "': " + c.input);
    AuthorityResult result = normalizeAuthority(c.input);
    EXPECT_EQ(static_cast<int>(result.outcome), static_cast<int>(c.outcome))
        << "got '" << result.authority << "'";
    if (c.outcome == Outcome::kNormalized) {
      EXPECT_EQ(result.authority, c.expected);
    }
  }
}

TEST(AuthorityNormalizerTest, NulRefused) {
  EXPECT_EQ(normalizeAuthority(std::string("admin\0.example.com", 18)).outcome, Outcome::kRejected);
}

}  // namespace
}  // namespace remora::http
