#pragma once

// Metrics handles. Created on the main thread at config time (never looked up by name on the
// data path); incremented from any thread without locks; read when Prometheus scrapes.

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace remora::stats {

// Prometheus label pairs, e.g. {{"listener", "ingress"}}.
using Labels = std::vector<std::pair<std::string, std::string>>;

class Counter {
 public:
  virtual ~Counter() = default;
  virtual void add(uint64_t amount) = 0;
  void inc() { add(1); }
  virtual uint64_t value() const = 0;
};

class Gauge {
 public:
  virtual ~Gauge() = default;
  virtual void add(int64_t amount) = 0;
  virtual void set(int64_t value) = 0;
  void inc() { add(1); }
  void dec() { add(-1); }
  void sub(int64_t amount) { add(-amount); }
  virtual int64_t value() const = 0;
};

// Observations bucketed by upper bounds (Prometheus histogram), e.g. request durations.
class Histogram {
 public:
  virtual ~Histogram() = default;
  // Values in the metric's base unit (seconds for durations).
  virtual void record(double value) = 0;
  virtual uint64_t sampleCount() const = 0;
};

enum class MetricType { kCounter, kGauge, kHistogram };

// Owns every metric of the process. Thread-safe: creation takes a lock (config time only);
// the returned references stay valid for the store's lifetime.
class Store {
 public:
  virtual ~Store() = default;
  // `name` is the full Prometheus name (`remora_..._total` for counters). Asking again with the
  // same name and labels returns the same metric; one name always has one help text and type.
  virtual Counter& counter(std::string_view name, std::string_view help, const Labels& labels) = 0;
  virtual Gauge& gauge(std::string_view name, std::string_view help, const Labels& labels) = 0;
  // `bounds` are the buckets' upper bounds, ascending; +Inf is implied.
  virtual Histogram& histogram(std::string_view name, std::string_view help, const Labels& labels,
                               const std::vector<double>& bounds) = 0;
  // Declares a family without any series yet: the exposition lists its HELP and TYPE, so a
  // family whose series are created on first use (stats/lazy_metrics.h) is still documented.
  virtual void declare(std::string_view name, std::string_view help, MetricType type) = 0;
  // A gauge computed when scraped (on the main thread), e.g. resident memory.
  virtual void callbackGauge(std::string_view name, std::string_view help, const Labels& labels,
                             std::function<double()> read) = 0;
  // Prometheus text exposition format (version 0.0.4) of every metric.
  virtual std::string prometheusText() const = 0;
};

}  // namespace remora::stats
