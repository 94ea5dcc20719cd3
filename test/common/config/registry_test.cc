#include "source/common/config/registry.h"

#include "gtest/gtest.h"

namespace remora::config {
namespace {

class TestFactory {
 public:
  virtual ~TestFactory() = default;
  virtual std::string name() const = 0;
};

class Alpha : public TestFactory {
 public:
  std::string name() const override { return "test.alpha"; }
};

class Beta : public TestFactory {
 public:
  std::string name() const override { return "test.beta"; }
};

// Registered by a static object, as filter libraries do.
const RegisterFactory<Alpha, TestFactory> registered_alpha;

TEST(RegistryTest, StaticRegistrationAndLookup) {
  ASSERT_NE(Registry<TestFactory>::find("test.alpha"), nullptr);
  EXPECT_EQ(Registry<TestFactory>::find("test.alpha")->name(), "test.alpha");
  EXPECT_EQ(Registry<TestFactory>::find("test.missing"), nullptr);
  Registry<TestFactory>::add(std::make_unique<Beta>());
  EXPECT_EQ(Registry<TestFactory>::names(), (std::vector<std::string>{"test.alpha", "test.beta"}));
}

TEST(RegistryDeathTest, DuplicateNamesAbort) {
  EXPECT_DEATH(Registry<TestFactory>::add(std::make_unique<Alpha>()),
               "duplicate factory registration: test.alpha");
}

}  // namespace
}  // namespace remora::config
