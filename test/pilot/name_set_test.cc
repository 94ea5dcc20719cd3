// NameSetTable: one shared copy per distinct set of names, freed with its last holder.

#include "source/pilot/name_set.h"

#include <gtest/gtest.h>

#include <thread>

namespace remora::pilot {
namespace {

TEST(NameSetTest, EqualContentIsOneSharedSet) {
  NameSetTable table;
  auto a = table.intern({"b", "a", "c", "a"});
  auto b = table.intern({"c", "b", "a"});
  EXPECT_EQ(a, b);
  EXPECT_EQ(a->names(), (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_TRUE(a->contains("b"));
  EXPECT_FALSE(a->contains("d"));
  EXPECT_NE(table.intern({"a", "b"}), a);
}

TEST(NameSetTest, ASetNobodyHoldsLeavesTheTable) {
  NameSetTable table;
  auto kept = table.intern({"kept"});
  {
    auto dropped = table.intern({"dropped"});
    EXPECT_EQ(table.size(), 2u);
  }
  EXPECT_EQ(table.size(), 1u);
  // Interned again: a new set.
  auto again = table.intern({"dropped"});
  EXPECT_EQ(again->names(), std::vector<std::string>{"dropped"});
  EXPECT_EQ(table.size(), 2u);
}

TEST(NameSetTest, SetsMayOutliveTheTable) {
  NameSetPtr survivor;
  {
    NameSetTable table;
    survivor = table.intern({"x"});
  }
  EXPECT_TRUE(survivor->contains("x"));
}

TEST(NameSetTest, ManyThreadsInterningAndDroppingTheSameSets) {
  NameSetTable table;
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&table, t] {
      for (int i = 0; i < 2000; ++i) {
        auto set = table.intern({"n" + std::to_string(i % 7), "m" + std::to_string(t % 2)});
        ASSERT_EQ(set->size(), 2u);
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(table.size(), 0u);
}

}  // namespace
}  // namespace remora::pilot
