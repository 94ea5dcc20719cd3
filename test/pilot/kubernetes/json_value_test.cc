// The API server's JSON as the source reads it: values, escapes, numbers kept as text,
// errors with their byte offset, and the round trip through serialize().
#include "source/pilot/kubernetes/json_value.h"

#include <gtest/gtest.h>

namespace remora::pilot::kubernetes {
namespace {

TEST(JsonValueTest, ReadsNestedValues) {
  auto value = JsonValue::parse(
      R"( {"metadata":{"name":"reviews","resourceVersion":"123","generation":7},
           "items":[1,true,null,"x"],"ratio":0.25} )");
  ASSERT_TRUE(value.ok()) << value.error();
  EXPECT_EQ(value->get("metadata").get("name").asString(), "reviews");
  EXPECT_EQ(value->get("metadata").get("generation").asInteger(), 7);
  EXPECT_EQ(value->get("items").elements().size(), 4u);
  EXPECT_TRUE(value->get("items").elements()[1].asBool());
  EXPECT_TRUE(value->get("items").elements()[2].isNull());
  EXPECT_TRUE(value->get("missing").get("deeper").isNull());
  EXPECT_EQ(value->get("ratio").asInteger(-1), -1);  // not integral
}

TEST(JsonValueTest, DecodesEscapesAndKeepsNumberText) {
  auto value = JsonValue::parse(R"({"s":"a\"b\\c\n\u00e9\ud83d\ude00","n":12345678901234567890})");
  ASSERT_TRUE(value.ok()) << value.error();
  EXPECT_EQ(value->get("s").asString(), "a\"b\\c\n\xc3\xa9\xf0\x9f\x98\x80");
  EXPECT_EQ(value->serialize(),
            "{\"s\":\"a\\\"b\\\\c\\n\xc3\xa9\xf0\x9f\x98\x80\",\"n\":12345678901234567890}");
}

TEST(JsonValueTest, ErrorsGiveTheByteOffset) {
  auto missing_colon = JsonValue::parse(R"({"a" 1})");
  ASSERT_FALSE(missing_colon.ok());
  EXPECT_EQ(missing_colon.error(), "JSON at byte 5: expected ':'");
  EXPECT_FALSE(JsonValue::parse(R"({"a":1} x)").ok());
  EXPECT_FALSE(JsonValue::parse(R"({"a":1)").ok());
  EXPECT_FALSE(JsonValue::parse(R"("unterminated)").ok());
  EXPECT_FALSE(JsonValue::parse("[01x]").ok());
  EXPECT_FALSE(JsonValue::parse("").ok());
}

TEST(JsonValueTest, RefusesDeepNesting) {
  std::string deep(JsonValue::kMaxDepth + 2, '[');
  deep += std::string(JsonValue::kMaxDepth + 2, ']');
  auto value = JsonValue::parse(deep);
  ASSERT_FALSE(value.ok());
  EXPECT_NE(value.error().find("nested too deeply"), std::string::npos);
}

}  // namespace
}  // namespace remora::pilot::kubernetes
