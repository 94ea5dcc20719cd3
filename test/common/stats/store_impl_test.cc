#include "source/common/stats/store_impl.h"

#include <gtest/gtest.h>

#include <thread>
#include <vector>

namespace remora::stats {
namespace {

TEST(StoreImplTest, SameNameAndLabelsReturnSameMetric) {
  StoreImpl store;
  Counter& a = store.counter("remora_rq_total", "Requests.", {{"listener", "in"}});
  Counter& b = store.counter("remora_rq_total", "Requests.", {{"listener", "in"}});
  Counter& other = store.counter("remora_rq_total", "Requests.", {{"listener", "out"}});
  EXPECT_EQ(&a, &b);
  EXPECT_NE(&a, &other);
  a.inc();
  EXPECT_EQ(b.value(), 1u);
  EXPECT_EQ(other.value(), 0u);

  Gauge& g1 = store.gauge("remora_cx_active", "Connections.", {});
  Gauge& g2 = store.gauge("remora_cx_active", "Connections.", {});
  EXPECT_EQ(&g1, &g2);
}

TEST(StoreImplTest, LabelOrderDoesNotMatter) {
  StoreImpl store;
  Counter& a = store.counter("remora_rq_total", "Requests.", {{"b", "2"}, {"a", "1"}});
  Counter& b = store.counter("remora_rq_total", "Requests.", {{"a", "1"}, {"b", "2"}});
  EXPECT_EQ(&a, &b);
}

TEST(StoreImplTest, ReferencesStayValidAsMetricsAreAdded) {
  StoreImpl store;
  Counter& first = store.counter("remora_rq_total", "Requests.", {{"n", "0"}});
  for (int i = 1; i < 1000; ++i) {
    store.counter("remora_rq_total", "Requests.", {{"n", std::to_string(i)}});
    store.gauge("remora_g" + std::to_string(i), "G.", {});
  }
  first.add(7);
  EXPECT_EQ(store.counter("remora_rq_total", "Requests.", {{"n", "0"}}).value(), 7u);
}

TEST(StoreImplTest, GaugeArithmetic) {
  StoreImpl store;
  Gauge& g = store.gauge("remora_cx_active", "Connections.", {});
  g.inc();
  g.add(10);
  g.dec();
  g.sub(20);
  EXPECT_EQ(g.value(), -10);
  g.set(42);
  EXPECT_EQ(g.value(), 42);
}

TEST(StoreImplTest, ConcurrentUpdatesAreExact) {
  StoreImpl store;
  constexpr int kThreads = 8;
  constexpr int kIterations = 100000;
  std::vector<Counter*> seen(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&store, &seen, t] {
      // Creation races too: every thread must get the one shared counter.
      Counter& counter = store.counter("remora_rq_total", "Requests.", {{"worker", "any"}});
      Gauge& gauge = store.gauge("remora_cx_active", "Connections.", {});
      seen[t] = &counter;
      for (int i = 0; i < kIterations; ++i) {
        counter.inc();
        gauge.add(2);
        gauge.dec();
      }
    });
  }
  for (auto& thread : threads) thread.join();
  for (Counter* counter : seen) EXPECT_EQ(counter, seen[0]);
  EXPECT_EQ(seen[0]->value(), uint64_t{kThreads} * kIterations);
  EXPECT_EQ(store.gauge("remora_cx_active", "Connections.", {}).value(),
            int64_t{kThreads} * kIterations);
}

TEST(StoreImplTest, CallbackGaugeIsReadAtScrapeTime) {
  StoreImpl store;
  double level = 1.5;
  store.callbackGauge("remora_level", "Level.", {}, [&level] { return level; });
  EXPECT_EQ(store.prometheusText(),
            "# HELP remora_level Level.\n# TYPE remora_level gauge\n"
            "remora_level 1.5\n");
  level = 3;
  EXPECT_NE(store.prometheusText().find("remora_level 3\n"), std::string::npos);
  // Registering again rebinds the callback.
  store.callbackGauge("remora_level", "Level.", {}, [] { return 9.0; });
  EXPECT_NE(store.prometheusText().find("remora_level 9\n"), std::string::npos);
}

TEST(StoreImplTest, ExpositionIsSortedAndEscaped) {
  StoreImpl store;
  store.counter("remora_rq_total", "Requests.", {{"listener", "in"}}).add(3);
  store.counter("remora_rq_total", "Requests.", {{"listener", "a\"q\\b\nc"}}).add(1);
  store.gauge("remora_cx_active", "Open connections.", {{"z", "1"}, {"a", "2"}}).set(-2);
  store.gauge("remora_cx_active", "Open connections.", {{"a", "1"}, {"z", "1"}}).set(5);
  EXPECT_EQ(store.prometheusText(),
            "# HELP remora_cx_active Open connections.\n"
            "# TYPE remora_cx_active gauge\n"
            "remora_cx_active{a=\"1\",z=\"1\"} 5\n"
            "remora_cx_active{a=\"2\",z=\"1\"} -2\n"
            "# HELP remora_rq_total Requests.\n"
            "# TYPE remora_rq_total counter\n"
            "remora_rq_total{listener=\"a\\\"q\\\\b\\nc\"} 1\n"
            "remora_rq_total{listener=\"in\"} 3\n");
}

TEST(StoreImplTest, HelpIsEscaped) {
  StoreImpl store;
  store.gauge("remora_x", "Two\nlines with a \\ backslash.", {}).set(1);
  EXPECT_EQ(store.prometheusText(),
            "# HELP remora_x Two\\nlines with a \\\\ backslash.\n"
            "# TYPE remora_x gauge\n"
            "remora_x 1\n");
}

TEST(StoreImplTest, EmptyStoreRendersNothing) {
  StoreImpl store;
  EXPECT_EQ(store.prometheusText(), "");
}

TEST(StoreImplDeathTest, ProgrammingErrorsAbort) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  StoreImpl store;
  store.counter("remora_rq_total", "Requests.", {});
  store.gauge("remora_level", "Level.", {});
  EXPECT_DEATH(store.gauge("remora_rq_total", "Requests.", {}), "another type");
  EXPECT_DEATH(store.counter("remora_rq_total", "Other help.", {}), "another help text");
  EXPECT_DEATH(store.counter("remora_rq", "Requests.", {}), "must end in _total");
  EXPECT_DEATH(store.gauge("remora_level_total", "Level.", {}), "only counter names end in _total");
  EXPECT_DEATH(store.gauge("remora-level", "Level.", {}), "invalid metric name");
  EXPECT_DEATH(store.gauge("remora_new", "", {}), "help text is empty");
  EXPECT_DEATH(store.gauge("remora_level", "Level.", {{"bad-label", "x"}}), "invalid label name");
  EXPECT_DEATH(store.gauge("remora_level", "Level.", {{"a", "1"}, {"a", "2"}}), "repeated");
  EXPECT_DEATH(store.callbackGauge("remora_level", "Level.", {}, [] { return 1.0; }),
               "plain gauge");
}

}  // namespace
}  // namespace remora::stats

namespace remora::stats {
namespace {

TEST(HistogramTest, BucketsAreCumulativeInTheExposition) {
  StoreImpl store;
  auto& h = store.histogram("remora_test_duration_seconds", "Durations.", {{"cluster", "a"}},
                            {0.005, 0.1, 1});
  EXPECT_EQ(&h, &store.histogram("remora_test_duration_seconds", "Durations.", {{"cluster", "a"}},
                                 {0.005, 0.1, 1}));
  h.record(0.001);
  h.record(0.05);
  h.record(0.05);
  h.record(5);
  EXPECT_EQ(h.sampleCount(), 4u);
  std::string text = store.prometheusText();
  EXPECT_NE(text.find("# TYPE remora_test_duration_seconds histogram"), std::string::npos);
  EXPECT_NE(text.find("remora_test_duration_seconds_bucket{cluster=\"a\",le=\"0.005\"} 1"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("remora_test_duration_seconds_bucket{cluster=\"a\",le=\"0.1\"} 3"),
            std::string::npos);
  EXPECT_NE(text.find("remora_test_duration_seconds_bucket{cluster=\"a\",le=\"1\"} 3"),
            std::string::npos);
  EXPECT_NE(text.find("remora_test_duration_seconds_bucket{cluster=\"a\",le=\"+Inf\"} 4"),
            std::string::npos);
  EXPECT_NE(text.find("remora_test_duration_seconds_count{cluster=\"a\"} 4"), std::string::npos);
  EXPECT_NE(text.find("remora_test_duration_seconds_sum{cluster=\"a\"} 5.101"), std::string::npos);
}

}  // namespace
}  // namespace remora::stats
