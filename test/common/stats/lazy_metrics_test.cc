#include "source/common/stats/lazy_metrics.h"

#include <gtest/gtest.h>

#include <thread>
#include <vector>

#include "source/common/stats/store_impl.h"

namespace remora::stats {
namespace {

const std::vector<double> kBounds = {0.1, 1};
const MetricSpec kRequests{"remora_test_requests_total", "Requests."};
const MetricSpec kActive{"remora_test_active", "Active."};
const MetricSpec kDuration{"remora_test_duration_seconds", "Duration.", &kBounds};
const MetricSpec kOpen{.name = "remora_test_open",
                       .help = "Open.",
                       .label_name = "breaker",
                       .label_value = "requests"};

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

TEST(LazyMetricsTest, FamiliesAreDeclaredButSeriesWaitForFirstUse) {
  StoreImpl store;
  LazyScope scope{store, {{"cluster", "a"}}};
  LazyCounter requests(scope, kRequests);
  LazyGauge active(scope, kActive);
  LazyHistogram duration(scope, kDuration);

  std::string text = store.prometheusText();
  EXPECT_TRUE(contains(text, "# TYPE remora_test_requests_total counter"));
  EXPECT_TRUE(contains(text, "# TYPE remora_test_active gauge"));
  EXPECT_TRUE(contains(text, "# TYPE remora_test_duration_seconds histogram"));
  EXPECT_FALSE(contains(text, "cluster=\"a\"")) << text;
  EXPECT_EQ(requests.value(), 0u);
  EXPECT_EQ(active.value(), 0);
  EXPECT_EQ(duration.sampleCount(), 0u);

  requests.add(0);  // nothing to count: still no series
  active.set(0);
  EXPECT_FALSE(contains(store.prometheusText(), "cluster=\"a\""));

  requests.inc();
  requests.add(2);
  active.inc();
  duration.record(0.5);
  text = store.prometheusText();
  EXPECT_TRUE(contains(text, "remora_test_requests_total{cluster=\"a\"} 3")) << text;
  EXPECT_TRUE(contains(text, "remora_test_active{cluster=\"a\"} 1")) << text;
  EXPECT_TRUE(contains(text, "remora_test_duration_seconds_count{cluster=\"a\"} 1")) << text;
  EXPECT_EQ(requests.value(), 3u);

  // Once created, a gauge reports zero again instead of disappearing.
  active.set(0);
  EXPECT_TRUE(contains(store.prometheusText(), "remora_test_active{cluster=\"a\"} 0"));
}

TEST(LazyMetricsTest, SameSeriesAsTheStoreAndAsOtherHandles) {
  StoreImpl store;
  LazyScope scope{store, {{"cluster", "a"}}};
  LazyCounter first(scope, kRequests);
  LazyCounter second(scope, kRequests);  // e.g. the same cluster rebuilt by an update
  first.inc();
  second.inc();
  EXPECT_EQ(store.counter(kRequests.name, kRequests.help, {{"cluster", "a"}}).value(), 2u);
  EXPECT_EQ(first.value(), 2u);
}

TEST(LazyMetricsTest, ExtraLabelFromTheSpec) {
  StoreImpl store;
  LazyScope scope{store, {{"cluster", "a"}}};
  LazyGauge open(scope, kOpen);
  open.set(1);
  EXPECT_TRUE(
      contains(store.prometheusText(), "remora_test_open{breaker=\"requests\",cluster=\"a\"} 1"));
}

TEST(LazyMetricsTest, RacingFirstUpdatesCountOnce) {
  StoreImpl store;
  LazyScope scope{store, {{"cluster", "a"}}};
  LazyCounter requests(scope, kRequests);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 1000; ++i) requests.inc();
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(requests.value(), 4000u);
  EXPECT_EQ(store.counter(kRequests.name, kRequests.help, {{"cluster", "a"}}).value(), 4000u);
}

TEST(LazyMetricsTest, HandleIsSmall) {
  // The point of the class: a handle costs far less than a registered series.
  EXPECT_LE(sizeof(LazyCounter), 32u);
  EXPECT_LE(sizeof(LazyGauge), 32u);
}

}  // namespace
}  // namespace remora::stats
