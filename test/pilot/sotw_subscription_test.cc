// SotwSubscription: a state-of-the-world response is built only when the version over the
// served resources' names and versions, or the names asked for, changed.

#include "source/pilot/sotw_subscription.h"

#include <google/protobuf/wrappers.pb.h>
#include <gtest/gtest.h>

namespace remora::pilot {
namespace {

ResourceMapPtr layer(const std::map<std::string, std::string>& content) {
  ResourceMap::Entries entries;
  for (const auto& [name, text] : content) {
    google::protobuf::StringValue message;
    message.set_value(text);
    entries.emplace(name, makeResource(name, message));
  }
  return ResourceMap::make(std::move(entries));
}

std::vector<std::string> names(const SotwSubscription::Response& response) {
  std::vector<std::string> out;
  for (const Resource* resource : response.resources) out.push_back(resource->name);
  return out;
}

using Names = std::vector<std::string>;

TEST(SotwSubscriptionTest, AnUnchangedVersionIsNotSentAgain) {
  NameSetTable table;
  SotwSubscription clusters(table, true);
  auto first = clusters.next({layer({{"a", "1"}}), layer({{"b", "1"}})});
  ASSERT_TRUE(first);
  EXPECT_EQ(names(*first), (Names{"a", "b"}));
  EXPECT_EQ(first->version.size(), 16u);
  // The same content in new maps, cut into layers differently: same version, nothing sent.
  EXPECT_FALSE(clusters.next({layer({{"a", "1"}, {"b", "1"}})}));
  auto changed = clusters.next({layer({{"a", "1"}, {"b", "2"}})});
  ASSERT_TRUE(changed);
  EXPECT_NE(changed->version, first->version);
  EXPECT_EQ(names(*changed), (Names{"a", "b"}));
}

TEST(SotwSubscriptionTest, TheFirstResponseIsSentEvenWhenEmpty) {
  NameSetTable table;
  SotwSubscription routes(table, false);
  auto first = routes.next({ResourceMap::empty()});
  ASSERT_TRUE(first);
  EXPECT_TRUE(first->resources.empty());
  EXPECT_FALSE(routes.next({ResourceMap::empty()}));
}

TEST(SotwSubscriptionTest, NamesAskedForFilterAndTheirChangeResends) {
  NameSetTable table;
  SotwSubscription endpoints(table, false);
  auto all = layer({{"a", "1"}, {"b", "1"}, {"c", "1"}});
  endpoints.setNames({"b", "a"});
  auto first = endpoints.next({all});
  ASSERT_TRUE(first);
  EXPECT_EQ(names(*first), (Names{"a", "b"}));
  // The same names again (every ACK repeats them): nothing.
  endpoints.setNames({"a", "b"});
  EXPECT_FALSE(endpoints.next({all}));
  // A resource nobody asked for changes: nothing.
  EXPECT_FALSE(endpoints.next({layer({{"a", "1"}, {"b", "1"}, {"c", "2"}})}));
  // A name more: resent whole.
  endpoints.setNames({"a", "b", "c"});
  auto more = endpoints.next({all});
  ASSERT_TRUE(more);
  EXPECT_EQ(names(*more), (Names{"a", "b", "c"}));
}

TEST(SotwSubscriptionTest, HasNamesOnlyForTheSameSortedNames) {
  NameSetTable table;
  SotwSubscription endpoints(table, false);
  endpoints.setNames({"b", "a"});
  Names same{"a", "b"}, unsorted{"b", "a"}, other{"a", "c"}, longer{"a", "b", "c"};
  EXPECT_TRUE(endpoints.hasNames(same.begin(), same.end()));
  EXPECT_FALSE(endpoints.hasNames(unsorted.begin(), unsorted.end()));  // then setNames sorts
  EXPECT_FALSE(endpoints.hasNames(other.begin(), other.end()));
  EXPECT_FALSE(endpoints.hasNames(longer.begin(), longer.end()));
}

TEST(SotwSubscriptionTest, StreamsAskingForTheSameNamesShareOneSet) {
  NameSetTable table;
  SotwSubscription one(table, false);
  SotwSubscription two(table, false);
  one.setNames({"x", "y"});
  two.setNames({"y", "x"});
  EXPECT_EQ(one.names(), two.names());
}

}  // namespace
}  // namespace remora::pilot
