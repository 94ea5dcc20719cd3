// Istio's string match forms: exact, "prefix*", "*suffix" and "*".

#include "source/common/rbac/string_matcher.h"

#include "gtest/gtest.h"

namespace remora::rbac {
namespace {

TEST(StringMatcherTest, Exact) {
  StringMatcher m("/reviews");
  EXPECT_EQ(m.kind(), StringMatcher::Kind::kExact);
  EXPECT_TRUE(m.matches("/reviews"));
  EXPECT_FALSE(m.matches("/reviews/1"));
  EXPECT_FALSE(m.matches("/Reviews"));
  EXPECT_FALSE(m.matches(""));
}

TEST(StringMatcherTest, Prefix) {
  StringMatcher m("cluster.local/ns/default/*");
  EXPECT_EQ(m.kind(), StringMatcher::Kind::kPrefix);
  EXPECT_EQ(m.text(), "cluster.local/ns/default/");
  EXPECT_TRUE(m.matches("cluster.local/ns/default/sa/productpage"));
  EXPECT_TRUE(m.matches("cluster.local/ns/default/"));
  EXPECT_FALSE(m.matches("cluster.local/ns/default"));
  EXPECT_FALSE(m.matches("cluster.local/ns/prod/sa/productpage"));
}

TEST(StringMatcherTest, Suffix) {
  StringMatcher m("*.example.com");
  EXPECT_EQ(m.kind(), StringMatcher::Kind::kSuffix);
  EXPECT_EQ(m.text(), ".example.com");
  EXPECT_TRUE(m.matches("www.example.com"));
  EXPECT_TRUE(m.matches(".example.com"));
  EXPECT_FALSE(m.matches("example.com"));
  EXPECT_FALSE(m.matches("www.example.org"));
}

TEST(StringMatcherTest, AnyNonEmptyValue) {
  StringMatcher m("*");
  EXPECT_EQ(m.kind(), StringMatcher::Kind::kAny);
  EXPECT_TRUE(m.matches("x"));
  EXPECT_TRUE(m.matches("anything/at/all"));
  EXPECT_FALSE(m.matches(""));
}

TEST(StringMatcherTest, LeadingStarWinsOverTrailingStar) {
  StringMatcher m("*abc*");
  EXPECT_EQ(m.kind(), StringMatcher::Kind::kSuffix);
  EXPECT_TRUE(m.matches("xabc*"));
  EXPECT_FALSE(m.matches("xabcx"));
}

TEST(StringMatcherTest, StarInTheMiddleIsLiteral) {
  StringMatcher m("a*b");
  EXPECT_EQ(m.kind(), StringMatcher::Kind::kExact);
  EXPECT_TRUE(m.matches("a*b"));
  EXPECT_FALSE(m.matches("axb"));
}

TEST(StringMatcherTest, IgnoreCase) {
  StringMatcher exact("Example.COM", /*ignore_case=*/true);
  EXPECT_TRUE(exact.matches("example.com"));
  EXPECT_TRUE(exact.matches("EXAMPLE.com"));
  EXPECT_FALSE(exact.matches("example.org"));
  StringMatcher suffix("*.Example.com", true);
  EXPECT_TRUE(suffix.matches("WWW.EXAMPLE.COM"));
  StringMatcher prefix("API.*", true);
  EXPECT_TRUE(prefix.matches("api.internal"));
  EXPECT_FALSE(prefix.matches("web.internal"));
  StringMatcher sensitive("Example.COM");
  EXPECT_FALSE(sensitive.matches("example.com"));
}

}  // namespace
}  // namespace remora::rbac
