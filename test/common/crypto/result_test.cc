#include "source/common/crypto/result.h"

#include <string>

#include "gtest/gtest.h"

namespace remora::crypto {
namespace {

TEST(StatusTest, DefaultIsOk) {
  const Status status;
  EXPECT_TRUE(status.ok());
  EXPECT_EQ(status.error(), "");
}

TEST(StatusTest, ErrorCarriesMessage) {
  const Status status = Error{"boom"};
  EXPECT_FALSE(status.ok());
  EXPECT_EQ(status.error(), "boom");
}

TEST(StatusTest, EmptyErrorMessageStillFails) {
  const Status status = Error{""};
  EXPECT_FALSE(status.ok());
  EXPECT_EQ(status.error(), "unknown error");
}

TEST(ResultTest, ValueAndErrorOfSameTypeAreDistinct) {
  const Result<std::string> value = std::string("pem");
  ASSERT_TRUE(value.ok());
  EXPECT_EQ(*value, "pem");
  EXPECT_EQ(value.error(), "");
  EXPECT_TRUE(value.status().ok());

  const Result<std::string> error = Error{"bad pem"};
  EXPECT_FALSE(error.ok());
  EXPECT_EQ(error.error(), "bad pem");
  EXPECT_EQ(error.status().error(), "bad pem");
}

TEST(ResultTest, MovesValueOut) {
  Result<std::string> result = std::string(100, 'x');
  const std::string taken = std::move(result).value();
  EXPECT_EQ(taken.size(), 100u);
}

TEST(QuoteForMessageTest, EscapesAndTruncates) {
  EXPECT_EQ(quoteForMessage("spiffe://a/b"), "\"spiffe://a/b\"");
  EXPECT_EQ(quoteForMessage(std::string("a\nb\"c\\\0", 7)), "\"a\\x0ab\\x22c\\x5c\\x00\"");
  EXPECT_EQ(quoteForMessage("\xc3\xa9"), "\"\\xc3\\xa9\"");
  EXPECT_EQ(quoteForMessage("abcdef", 3), "\"abc...\"");
  EXPECT_EQ(quoteForMessage(""), "\"\"");
}

}  // namespace
}  // namespace remora::crypto
