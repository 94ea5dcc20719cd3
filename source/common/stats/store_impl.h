#pragma once

// The one metric store of a process. Metrics are created at config time (under a mutex) and
// then updated from any thread with relaxed atomics; prometheusText() renders every metric in
// the Prometheus text format through prometheus-cpp's TextSerializer.
//
// Programming errors abort the process with a message on stderr, in every build mode, because
// each of them would otherwise produce an exposition that Prometheus or promtool rejects:
//   - a name or label name that is not a valid Prometheus identifier, or a repeated label name;
//   - an empty help text;
//   - a counter whose name does not end in `_total`, or a gauge whose name does;
//   - registering an existing name with another type or another help text;
//   - asking for a plain gauge where a callback gauge with the same labels exists, or the reverse.

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "source/interface/stats/stats.h"

namespace remora::stats {

class CounterImpl final : public Counter {
 public:
  void add(uint64_t amount) override { value_.fetch_add(amount, std::memory_order_relaxed); }
  uint64_t value() const override { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<uint64_t> value_{0};
};

class GaugeImpl final : public Gauge {
 public:
  void add(int64_t amount) override { value_.fetch_add(amount, std::memory_order_relaxed); }
  void set(int64_t value) override { value_.store(value, std::memory_order_relaxed); }
  int64_t value() const override { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<int64_t> value_{0};
};

class HistogramImpl final : public Histogram {
 public:
  explicit HistogramImpl(std::vector<double> bounds);
  void record(double value) override;
  uint64_t sampleCount() const override { return count_.load(std::memory_order_relaxed); }
  const std::vector<double>& bounds() const { return bounds_; }
  // Non-cumulative count of bucket `i` (bounds().size() is the +Inf bucket).
  uint64_t bucketCount(size_t i) const { return buckets_[i].load(std::memory_order_relaxed); }
  double sum() const { return sum_.load(std::memory_order_relaxed); }

 private:
  std::vector<double> bounds_;
  std::unique_ptr<std::atomic<uint64_t>[]> buckets_;
  std::atomic<uint64_t> count_{0};
  std::atomic<double> sum_{0};
};

class StoreImpl : public Store {
 public:
  StoreImpl() = default;
  StoreImpl(const StoreImpl&) = delete;
  StoreImpl& operator=(const StoreImpl&) = delete;

  // Label order does not matter: {a,b} and {b,a} name the same metric.
  Counter& counter(std::string_view name, std::string_view help, const Labels& labels) override;
  Gauge& gauge(std::string_view name, std::string_view help, const Labels& labels) override;
  // Registering the same name and labels again replaces the callback, so a rebuilt component
  // can rebind its gauge. Callbacks run in prometheusText() with the store's lock held: they
  // must be quick and must not call back into the store.
  void callbackGauge(std::string_view name, std::string_view help, const Labels& labels,
                     std::function<double()> read) override;
  // Asking again with other bounds for an existing series returns the existing histogram.
  Histogram& histogram(std::string_view name, std::string_view help, const Labels& labels,
                       const std::vector<double>& bounds) override;
  void declare(std::string_view name, std::string_view help, MetricType type) override;
  // Families sorted by name, metrics within a family sorted by their (name-sorted) labels.
  // Counters above 2^53 lose precision: the text format carries doubles.
  std::string prometheusText() const override;

 private:
  using Type = MetricType;
  using CallbackGauge = std::function<double()>;
  // One metric's storage. It lives inside a std::map node, which never moves, so the references
  // handed out stay valid for the store's lifetime.
  using Series = std::variant<CounterImpl, GaugeImpl, CallbackGauge, HistogramImpl>;

  struct Family {
    Type type;
    std::string help;
    // The label set is stored once, as the key; std::map keeps the exposition order for free.
    std::map<Labels, Series> series;
  };

  // Returns the family `name`, creating it if needed. Caller holds lock_.
  Family& family(std::string_view name, std::string_view help, Type type);

  mutable std::mutex lock_;
  std::map<std::string, Family, std::less<>> families_;
};

}  // namespace remora::stats
