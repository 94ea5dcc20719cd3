#include "source/pilot/resource_map.h"

#include <google/protobuf/wrappers.pb.h>
#include <gtest/gtest.h>

namespace remora::pilot {
namespace {

ResourcePtr value(const std::string& name, const std::string& text) {
  google::protobuf::StringValue message;
  message.set_value(text);
  return makeResource(name, message);
}

std::vector<std::string> names(const ResourceMap::Diff& diff) {
  std::vector<std::string> out;
  for (const Resource* r : diff.changed) out.push_back(r->name);
  return out;
}

TEST(ResourceMapTest, VersionsFollowContent) {
  EXPECT_EQ(value("a", "x")->version, value("b", "x")->version);
  EXPECT_NE(value("a", "x")->version, value("a", "y")->version);
  EXPECT_EQ(value("a", "x")->version.size(), 16u);
}

TEST(ResourceMapTest, UnchangedContentKeepsTheSameMap) {
  auto first = ResourceMap::make({{"a", value("a", "1")}, {"b", value("b", "2")}});
  // Rebuilt resources with the same content: the previous map itself comes back.
  auto second = ResourceMap::make({{"a", value("a", "1")}, {"b", value("b", "2")}}, first);
  EXPECT_EQ(first, second);
}

TEST(ResourceMapTest, RecordsChangesAgainstItsBase) {
  auto first = ResourceMap::make({{"a", value("a", "1")}, {"b", value("b", "2")}});
  EXPECT_EQ(first->changed(), (std::vector<std::string>{"a", "b"}));
  auto second = ResourceMap::make({{"b", value("b", "3")}, {"c", value("c", "4")}}, first);
  EXPECT_EQ(second->base(), first);
  EXPECT_EQ(second->changed(), (std::vector<std::string>{"b", "c"}));
  EXPECT_EQ(second->removed(), (std::vector<std::string>{"a"}));

  auto diff = ResourceMap::diff(first.get(), *second);
  EXPECT_EQ(names(diff), (std::vector<std::string>{"b", "c"}));
  EXPECT_EQ(diff.removed, (std::vector<std::string>{"a"}));
  EXPECT_TRUE(ResourceMap::diff(second.get(), *second).changed.empty());
  EXPECT_EQ(names(ResourceMap::diff(nullptr, *second)), (std::vector<std::string>{"b", "c"}));
}

TEST(ResourceMapTest, DiffsMapsTwoVersionsApart) {
  auto first = ResourceMap::make({{"a", value("a", "1")}, {"b", value("b", "2")}});
  auto second = ResourceMap::make({{"a", value("a", "1")}, {"b", value("b", "3")}}, first);
  auto third = ResourceMap::make({{"b", value("b", "3")}, {"d", value("d", "5")}}, second);
  // third was made from second, not first: compared entry by entry.
  auto diff = ResourceMap::diff(first.get(), *third);
  EXPECT_EQ(names(diff), (std::vector<std::string>{"b", "d"}));
  EXPECT_EQ(diff.removed, (std::vector<std::string>{"a"}));
}

TEST(ResourceMapTest, FlattensLayers) {
  auto one = ResourceMap::make({{"a", value("a", "1")}});
  auto two = ResourceMap::make({{"b", value("b", "2")}});
  auto all = flatten({one, two, ResourceMap::empty()});
  ASSERT_EQ(all.size(), 2u);
  EXPECT_TRUE(all.count("a") && all.count("b"));
}

}  // namespace
}  // namespace remora::pilot
