#include "source/common/crypto/spiffe_id.h"

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace remora::crypto {
namespace {

using ::testing::HasSubstr;

TEST(SpiffeIdTest, ParsesWorkloadId) {
  auto id = SpiffeId::parse("spiffe://cluster.local/ns/default/sa/productpage");
  ASSERT_TRUE(id.ok()) << id.error();
  EXPECT_EQ(id->trust_domain, "cluster.local");
  EXPECT_EQ(id->ns, "default");
  EXPECT_EQ(id->sa, "productpage");
  EXPECT_EQ(id->toString(), "spiffe://cluster.local/ns/default/sa/productpage");
}

TEST(SpiffeIdTest, CreateValidatesParts) {
  auto id = SpiffeId::create("td", "ns1", "sa1");
  ASSERT_TRUE(id.ok()) << id.error();
  EXPECT_EQ(id->toString(), "spiffe://td/ns/ns1/sa/sa1");
  EXPECT_EQ(*SpiffeId::parse(id->toString()), *id);

  EXPECT_FALSE(SpiffeId::create("TD", "ns", "sa").ok());
  EXPECT_FALSE(SpiffeId::create("td", "", "sa").ok());
  EXPECT_FALSE(SpiffeId::create("td", "a/b", "sa").ok());
  EXPECT_FALSE(SpiffeId::create("td", "ns", "..").ok());
  EXPECT_FALSE(SpiffeId::create("td/ns/a/sa/b", "", "").ok());
}

struct Case {
  std::string uri;
  std::string error_part;  // empty: accepted
};

class ValidateSpiffeUriTest : public ::testing::TestWithParam<Case> {};

TEST_P(ValidateSpiffeUriTest, AcceptsOrRejects) {
  const Case& c = GetParam();
  auto trust_domain = validateSpiffeUri(c.uri);
  if (c.error_part.empty()) {
    EXPECT_TRUE(trust_domain.ok()) << c.uri << ": " << trust_domain.error();
  } else {
    ASSERT_FALSE(trust_domain.ok()) << c.uri;
    EXPECT_THAT(trust_domain.error(), HasSubstr(c.error_part)) << c.uri;
  }
}

INSTANTIATE_TEST_SUITE_P(
    Table, ValidateSpiffeUriTest,
    ::testing::Values(
        // Accepted.
        Case{"spiffe://cluster.local/ns/default/sa/productpage", ""},
        Case{"spiffe://example.org", ""},  // the trust domain's own ID
        Case{"spiffe://a-b_c.9/Path/With.Dots/and-dashes/under_scores", ""},
        Case{"spiffe://td/...", ""},  // only "." and ".." are special
        Case{"spiffe://td/" + std::string(2048 - 12, 'a'), ""},
        // Scheme.
        Case{"", "SPIFFE ID is empty"}, Case{"cluster.local/ns/a/sa/b", "missing \"spiffe://\""},
        Case{"spiffe:/td/ns/a", "missing \"spiffe://\""},
        Case{"SPIFFE://td/ns/a", "scheme must be \"spiffe\", got \"SPIFFE\""},
        Case{"https://td/ns/a", "scheme must be \"spiffe\""},
        Case{"xspiffe://td", "scheme must be \"spiffe\""},
        // Trust domain.
        Case{"spiffe://", "trust domain is empty"}, Case{"spiffe:///ns/a", "trust domain is empty"},
        Case{"spiffe://Cluster.local/ns/a", "invalid character 'C'"},
        Case{"spiffe://td:8080/ns/a", "invalid character ':'"},
        Case{"spiffe://user@td/ns/a", "invalid character '@'"},
        Case{"spiffe://" + std::string(256, 'a'), "trust domain is longer than 255"},
        // Path.
        Case{"spiffe://td/", "empty segment"}, Case{"spiffe://td//ns", "empty segment"},
        Case{"spiffe://td/ns/a/", "empty segment"},
        Case{"spiffe://td/ns/../sa", "path segment \"..\" is not allowed"},
        Case{"spiffe://td/./ns", "path segment \".\" is not allowed"},
        Case{"spiffe://td/ns/a b", "invalid character ' '"},
        Case{"spiffe://td/ns/caf\xc3\xa9", "invalid character '\\xc3'"},
        Case{std::string("spiffe://td/ns/a\0b", 18), "invalid character '\\x00'"},
        // Query, fragment, percent-encoding.
        Case{"spiffe://td/ns/a?x=1", "query is not allowed"},
        Case{"spiffe://td/ns/a#frag", "fragment is not allowed"},
        Case{"spiffe://td/ns/%61", "percent-encoding is not allowed"},
        Case{"spiffe://t%64/ns/a", "percent-encoding is not allowed"},
        // Length.
        Case{"spiffe://td/" + std::string(2048 - 11, 'a'), "2049 bytes long (maximum 2048)"}));

TEST(ValidateSpiffeUriTest, ReturnsTrustDomain) {
  EXPECT_EQ(*validateSpiffeUri("spiffe://prod.example.org/anything/at/all"), "prod.example.org");
  EXPECT_EQ(*validateSpiffeUri("spiffe://td"), "td");
}

TEST(ValidateSpiffeUriTest, ErrorQuotesTheId) {
  EXPECT_EQ(validateSpiffeUri("spiffe://td/a\n").error(),
            "SPIFFE ID \"spiffe://td/a\\x0a\": path segment \"a\\x0a\" contains invalid "
            "character '\\x0a' (allowed: A-Z a-z 0-9 . - _)");
}

TEST(SpiffeIdTest, RejectsNonWorkloadPaths) {
  for (const char* uri :
       {"spiffe://td", "spiffe://td/ns/a", "spiffe://td/ns/a/sa", "spiffe://td/ns/a/sa/b/c",
        "spiffe://td/sa/a/ns/b", "spiffe://td/NS/a/sa/b", "spiffe://td/x/a/sa/b"}) {
    auto id = SpiffeId::parse(uri);
    ASSERT_FALSE(id.ok()) << uri;
    EXPECT_THAT(id.error(), HasSubstr("path must be /ns/<namespace>/sa/<service-account>"));
  }
  // Generic validation errors come first.
  EXPECT_THAT(SpiffeId::parse("spiffe://td/ns/../sa/b").error(), HasSubstr("\"..\""));
}

}  // namespace
}  // namespace remora::crypto
