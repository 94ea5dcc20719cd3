#include "source/common/stats/process_stats.h"

#include <gtest/gtest.h>

#include <cmath>
#include <string>

#include "source/common/stats/store_impl.h"

namespace remora::stats {
namespace {

// The value of the unlabelled sample `name` in `text`; NaN if absent.
double sample(const std::string& text, const std::string& name) {
  const std::string prefix = "\n" + name + " ";
  const size_t at = text.find(prefix);
  if (at == std::string::npos) return std::nan("");
  return std::stod(text.substr(at + prefix.size()));
}

TEST(ProcessStatsTest, ResidentMemoryIsPlausible) {
  auto bytes = residentMemoryBytes();
  ASSERT_TRUE(bytes.has_value());
  EXPECT_GT(*bytes, 100u * 1024);
  EXPECT_LT(*bytes, 1024ull * 1024 * 1024);
}

TEST(ProcessStatsTest, RegistersTheProcessMetrics) {
  StoreImpl store;
  registerProcessStats(store, 4, std::chrono::steady_clock::now() - std::chrono::seconds(3));
  const std::string text = store.prometheusText();
  EXPECT_EQ(sample(text, "remora_server_workers"), 4);
  EXPECT_GE(sample(text, "remora_server_uptime_seconds"), 3);
  EXPECT_LT(sample(text, "remora_server_uptime_seconds"), 60);
  EXPECT_GT(sample(text, "remora_process_resident_memory_bytes"), 100 * 1024);
  EXPECT_NE(text.find("# TYPE remora_process_resident_memory_bytes gauge\n"), std::string::npos);
}

}  // namespace
}  // namespace remora::stats
