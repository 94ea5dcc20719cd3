#pragma once

// Metric handles that register their series with the store on first use.
//
// Why: a proxy fed by a mesh control plane knows thousands of clusters, and most of them never
// see a request from this pod. A registered series costs a few hundred bytes (map node, label
// set, value) and a line in every scrape; a lazy handle costs 32 bytes until something is
// counted. The family's HELP and TYPE are declared up front, so a scrape still lists every
// family. A series appears with its first non-zero update (as Envoy's deferred stats do);
// before that its value reads as zero.
//
// Thread-safe: the first update may come from any worker; two racing first updates register
// the same series (the store returns one series per name and labels).

#include <atomic>
#include <cstdint>
#include <vector>

#include "source/interface/stats/stats.h"

namespace remora::stats {

// A family's name and help text. Specs are static data: handles keep pointers to them.
struct MetricSpec {
  const char* name;
  const char* help;
  // Histograms only: bucket upper bounds, ascending.
  const std::vector<double>* bounds = nullptr;
  // A constant label this series adds to its scope's labels, e.g. breaker="requests".
  const char* label_name = nullptr;
  const char* label_value = nullptr;
};

// The store and label set shared by a group of lazy handles (e.g. one cluster's metrics). Must
// outlive its handles.
struct LazyScope {
  Store& store;
  Labels labels;
};

class LazyCounter final : public Counter {
 public:
  // Declares the family in `scope.store`.
  LazyCounter(const LazyScope& scope, const MetricSpec& spec);
  void add(uint64_t amount) override {
    if (amount != 0) series().add(amount);
  }
  uint64_t value() const override;

 private:
  Counter& series();

  const LazyScope& scope_;
  const MetricSpec& spec_;
  std::atomic<Counter*> series_{nullptr};
};

class LazyGauge final : public Gauge {
 public:
  LazyGauge(const LazyScope& scope, const MetricSpec& spec);
  void add(int64_t amount) override {
    if (amount != 0) series().add(amount);
  }
  // Setting zero before the first update changes nothing (the value already reads zero), so a
  // breaker that never opened adds no series.
  void set(int64_t value) override;
  int64_t value() const override;

 private:
  Gauge& series();

  const LazyScope& scope_;
  const MetricSpec& spec_;
  std::atomic<Gauge*> series_{nullptr};
};

class LazyHistogram final : public Histogram {
 public:
  LazyHistogram(const LazyScope& scope, const MetricSpec& spec);
  void record(double value) override { series().record(value); }
  uint64_t sampleCount() const override;

 private:
  Histogram& series();

  const LazyScope& scope_;
  const MetricSpec& spec_;
  std::atomic<Histogram*> series_{nullptr};
};

}  // namespace remora::stats
