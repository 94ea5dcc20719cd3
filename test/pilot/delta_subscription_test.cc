// DeltaSubscription: what a delta discovery stream sends for one type, from the layers it
// last sent and the ones of a new generation: only changed names, nothing for an unchanged
// generation, subscribe and unsubscribe, removals (also across layers), and a reconnect with
// initial_resource_versions.

#include "source/pilot/delta_subscription.h"

#include <google/protobuf/wrappers.pb.h>
#include <gtest/gtest.h>

namespace remora::pilot {
namespace {

ResourcePtr value(const std::string& name, const std::string& text) {
  google::protobuf::StringValue message;
  message.set_value(text);
  return makeResource(name, message);
}

// A map of name -> content.
ResourceMapPtr layer(const std::map<std::string, std::string>& content,
                     const ResourceMapPtr& previous = nullptr) {
  ResourceMap::Entries entries;
  for (const auto& [name, text] : content) entries.emplace(name, value(name, text));
  return ResourceMap::make(std::move(entries), previous);
}

std::vector<std::string> names(const DeltaSubscription::Push& push) {
  std::vector<std::string> out;
  for (const Resource* resource : push.resources) out.push_back(resource->name);
  return out;
}

using Names = std::vector<std::string>;

TEST(DeltaSubscriptionTest, ALayerChangeSendsOnlyTheChangedNames) {
  NameSetTable table;
  DeltaSubscription endpoints(table, false);
  endpoints.update({"a", "b", "c"}, {});
  auto v1 = layer({{"a", "1"}, {"b", "1"}, {"c", "1"}, {"other", "1"}});
  auto first = endpoints.next({v1});
  EXPECT_EQ(names(first), (Names{"a", "b", "c"}));
  // One resource of the layer changes (a new version made from the old one)...
  auto v2 = layer({{"a", "1"}, {"b", "2"}, {"c", "1"}, {"other", "2"}}, v1);
  ASSERT_EQ(v2->base(), v1);
  auto second = endpoints.next({v2});
  // ... only it is sent ("other" changed too, but is not subscribed).
  EXPECT_EQ(names(second), (Names{"b"}));
  EXPECT_EQ(second.resources[0]->version, v2->find("b")->version);
  EXPECT_TRUE(second.removed.empty());
  // A map rebuilt without a base (compared name by name) gives the same answer.
  auto v3 = layer({{"a", "3"}, {"b", "2"}, {"c", "1"}});
  EXPECT_EQ(names(endpoints.next({v3})), (Names{"a"}));
}

TEST(DeltaSubscriptionTest, AnUnchangedGenerationSendsNothing) {
  NameSetTable table;
  DeltaSubscription clusters(table, true);
  auto shared = layer({{"a", "1"}, {"b", "1"}});
  auto own = layer({{"inbound", "1"}});
  EXPECT_EQ(names(clusters.next({shared, own})), (Names{"a", "b", "inbound"}));
  // The same layers again (a new generation that changed nothing of this proxy's).
  EXPECT_TRUE(clusters.next({shared, own}).empty());
  // Rebuilt with the same content: make() hands back the same map.
  auto rebuilt = layer({{"a", "1"}, {"b", "1"}}, shared);
  EXPECT_EQ(rebuilt, shared);
  EXPECT_TRUE(clusters.next({rebuilt, own}).empty());
}

TEST(DeltaSubscriptionTest, SubscribeSendsWhatIsPresentUnsubscribeStopsUpdates) {
  NameSetTable table;
  DeltaSubscription routes(table, false);
  routes.update({"r1"}, {});
  auto v1 = layer({{"r1", "1"}, {"r2", "1"}});
  EXPECT_EQ(names(routes.next({v1})), (Names{"r1"}));
  // Newly subscribed names: sent if present, without a new generation.
  routes.update({"r2", "missing"}, {});
  auto subscribed = routes.next({v1});
  EXPECT_EQ(names(subscribed), (Names{"r2"}));
  EXPECT_TRUE(subscribed.removed.empty());
  // Unsubscribed: its changes and its removal are no longer sent.
  routes.update({}, {"r1"});
  EXPECT_TRUE(routes.next({v1}).empty());
  auto v2 = layer({{"r2", "1"}}, v1);  // r1 removed
  EXPECT_TRUE(routes.next({v2}).empty());
  auto v3 = layer({{"r2", "2"}, {"missing", "1"}}, v2);
  EXPECT_EQ(names(routes.next({v3})), (Names{"missing", "r2"}));
  EXPECT_EQ(routes.names()->names(), (Names{"missing", "r2"}));
}

TEST(DeltaSubscriptionTest, RemovedOnlyWhenNoLayerHasTheName) {
  NameSetTable table;
  DeltaSubscription listeners(table, true);
  auto outbound = layer({{"a", "1"}, {"b", "1"}});
  auto inbound = layer({{"in", "1"}});
  listeners.next({outbound, inbound});
  // "a" goes away; "b" moves from the first layer to the second.
  auto outbound2 = layer({}, outbound);
  auto inbound2 = layer({{"in", "1"}, {"b", "1"}}, inbound);
  auto push = listeners.next({outbound2, inbound2});
  EXPECT_EQ(push.removed, (Names{"a"}));
  // A layer that is no longer there: its names are removed.
  auto gone = listeners.next({outbound2});
  EXPECT_EQ(gone.removed, (Names{"b", "in"}));
  EXPECT_TRUE(gone.resources.empty());
}

TEST(DeltaSubscriptionTest, AReconnectGetsOnlyWhatDiffersFromItsInitialVersions) {
  NameSetTable table;
  auto v1 = layer({{"a", "1"}, {"b", "1"}, {"c", "1"}});
  DeltaSubscription reconnected(table, true);
  reconnected.setInitialVersions({{"a", v1->find("a")->version},  // current
                                  {"b", "0000000000000000"},      // an older version
                                  {"gone", "1234"}});             // no longer exists
  auto push = reconnected.next({v1});
  EXPECT_EQ(names(push), (Names{"b", "c"}));
  EXPECT_EQ(push.removed, (Names{"gone"}));
  // The versions were compared once: from now on the layers are diffed as usual.
  EXPECT_TRUE(reconnected.next({v1}).empty());
}

TEST(DeltaSubscriptionTest, StreamsWithTheSameNamesShareOneSet) {
  NameSetTable table;
  DeltaSubscription one(table, false);
  DeltaSubscription two(table, false);
  one.update({"x", "y", "z"}, {});
  two.update({"z", "y"}, {});
  two.update({"x"}, {});
  EXPECT_EQ(one.names(), two.names());  // the same object
  size_t alive = table.size();
  // A change makes a private copy; the other stream keeps the shared one.
  two.update({}, {"x"});
  EXPECT_NE(one.names(), two.names());
  EXPECT_EQ(one.names()->names(), (Names{"x", "y", "z"}));
  EXPECT_EQ(table.size(), alive + 1);
  // And back: the shared set again, the copy freed.
  two.update({"x"}, {});
  EXPECT_EQ(one.names(), two.names());
  EXPECT_EQ(table.size(), alive);
}

}  // namespace
}  // namespace remora::pilot
