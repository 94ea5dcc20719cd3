#include "source/common/common/uuid.h"

#include <regex>
#include <set>

#include "gtest/gtest.h"

namespace remora {
namespace {

TEST(Uuid4Test, HasVersionAndVariantBits) {
  static const std::regex kShape(
      "[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}");
  for (int i = 0; i < 1000; ++i) {
    std::string id = uuid4();
    ASSERT_TRUE(std::regex_match(id, kShape)) << id;
  }
}

TEST(Uuid4Test, DoesNotRepeat) {
  std::set<std::string> seen;
  for (int i = 0; i < 10000; ++i) ASSERT_TRUE(seen.insert(uuid4()).second);
}

}  // namespace
}  // namespace remora
