#include "source/common/stats/lazy_metrics.h"

namespace remora::stats {
namespace {

// Registers on first use; the store hands every caller the same series, so a lost race only
// costs a second lookup.
template <class Metric, class Make>
Metric& registerOnce(std::atomic<Metric*>& slot, Make make) {
  Metric* metric = slot.load(std::memory_order_acquire);
  if (metric != nullptr) return *metric;
  metric = &make();
  slot.store(metric, std::memory_order_release);
  return *metric;
}

Labels seriesLabels(const LazyScope& scope, const MetricSpec& spec) {
  Labels labels = scope.labels;
  if (spec.label_name != nullptr) labels.emplace_back(spec.label_name, spec.label_value);
  return labels;
}

}  // namespace

LazyCounter::LazyCounter(const LazyScope& scope, const MetricSpec& spec)
    : scope_(scope), spec_(spec) {
  scope.store.declare(spec.name, spec.help, MetricType::kCounter);
}

uint64_t LazyCounter::value() const {
  const Counter* series = series_.load(std::memory_order_acquire);
  return series != nullptr ? series->value() : 0;
}

Counter& LazyCounter::series() {
  return registerOnce(series_, [&]() -> Counter& {
    return scope_.store.counter(spec_.name, spec_.help, seriesLabels(scope_, spec_));
  });
}

LazyGauge::LazyGauge(const LazyScope& scope, const MetricSpec& spec) : scope_(scope), spec_(spec) {
  scope.store.declare(spec.name, spec.help, MetricType::kGauge);
}

void LazyGauge::set(int64_t value) {
  Gauge* series = series_.load(std::memory_order_acquire);
  if (series == nullptr && value == 0) return;
  (series != nullptr ? *series : this->series()).set(value);
}

int64_t LazyGauge::value() const {
  const Gauge* series = series_.load(std::memory_order_acquire);
  return series != nullptr ? series->value() : 0;
}

Gauge& LazyGauge::series() {
  return registerOnce(series_, [&]() -> Gauge& {
    return scope_.store.gauge(spec_.name, spec_.help, seriesLabels(scope_, spec_));
  });
}

LazyHistogram::LazyHistogram(const LazyScope& scope, const MetricSpec& spec)
    : scope_(scope), spec_(spec) {
  scope.store.declare(spec.name, spec.help, MetricType::kHistogram);
}

uint64_t LazyHistogram::sampleCount() const {
  const Histogram* series = series_.load(std::memory_order_acquire);
  return series != nullptr ? series->sampleCount() : 0;
}

Histogram& LazyHistogram::series() {
  return registerOnce(series_, [&]() -> Histogram& {
    return scope_.store.histogram(spec_.name, spec_.help, seriesLabels(scope_, spec_),
                                  *spec_.bounds);
  });
}

}  // namespace remora::stats
