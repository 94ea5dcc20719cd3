#include "source/common/stats/store_impl.h"

#include <prometheus/check_names.h>
#include <prometheus/metric_family.h>
#include <prometheus/text_serializer.h>

#include <algorithm>
#include <cstdlib>
#include <limits>
#include <utility>
#include <vector>

#include "source/common/common/logger.h"

namespace remora::stats {
namespace {

[[noreturn]] void fail(std::string_view name, const std::string& what) {
  // Written unconditionally (not through REMORA_LOG): the process is about to abort and the
  // reason must reach stderr even with logging turned off.
  log::write(log::Level::critical, "stats: metric \"%.*s\": %s", static_cast<int>(name.size()),
             name.data(), what.c_str());
  std::abort();
}

bool endsWith(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

// Sorting by label name makes {a,b} and {b,a} the same metric and gives the exposition a stable
// order.
Labels canonicalLabels(std::string_view name, const Labels& labels) {
  Labels sorted = labels;
  std::sort(sorted.begin(), sorted.end());
  for (size_t i = 0; i < sorted.size(); ++i) {
    const std::string& label = sorted[i].first;
    if (!prometheus::CheckLabelName(label)) fail(name, "invalid label name \"" + label + "\"");
    if (i > 0 && label == sorted[i - 1].first) fail(name, "label \"" + label + "\" repeated");
  }
  return sorted;
}

// prometheus-cpp 1.0 escapes label values but writes HELP verbatim, so a backslash or newline in
// a help text would break the exposition unless escaped here.
std::string escapeHelp(const std::string& help) {
  std::string out;
  out.reserve(help.size());
  for (char c : help) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

}  // namespace

HistogramImpl::HistogramImpl(std::vector<double> bounds)
    : bounds_(std::move(bounds)), buckets_(new std::atomic<uint64_t>[bounds_.size() + 1]) {
  std::sort(bounds_.begin(), bounds_.end());
  for (size_t i = 0; i <= bounds_.size(); ++i) buckets_[i].store(0, std::memory_order_relaxed);
}

void HistogramImpl::record(double value) {
  // Few buckets: a linear scan beats a binary search's branches.
  size_t i = 0;
  while (i < bounds_.size() && value > bounds_[i]) ++i;
  buckets_[i].fetch_add(1, std::memory_order_relaxed);
  count_.fetch_add(1, std::memory_order_relaxed);
  sum_.fetch_add(value, std::memory_order_relaxed);
}

StoreImpl::Family& StoreImpl::family(std::string_view name, std::string_view help, Type type) {
  auto it = families_.find(name);
  if (it != families_.end()) {
    if (it->second.type != type) fail(name, "registered again with another type");
    if (it->second.help != help) fail(name, "registered again with another help text");
    return it->second;
  }
  if (!prometheus::CheckMetricName(std::string(name))) fail(name, "invalid metric name");
  if (help.empty()) fail(name, "help text is empty");
  // Prometheus naming rules (and promtool's lint) tie the `_total` suffix to counters.
  const bool total = endsWith(name, "_total");
  if (type == Type::kCounter && !total) fail(name, "counter names must end in _total");
  if (type != Type::kCounter && total) fail(name, "only counter names end in _total");
  return families_.emplace(std::string(name), Family{type, std::string(help), {}}).first->second;
}

void StoreImpl::declare(std::string_view name, std::string_view help, MetricType type) {
  std::lock_guard<std::mutex> guard(lock_);
  family(name, help, type);
}

Counter& StoreImpl::counter(std::string_view name, std::string_view help, const Labels& labels) {
  Labels key = canonicalLabels(name, labels);
  std::lock_guard<std::mutex> guard(lock_);
  Family& f = family(name, help, Type::kCounter);
  auto it = f.series.try_emplace(std::move(key), std::in_place_type<CounterImpl>).first;
  return std::get<CounterImpl>(it->second);
}

Gauge& StoreImpl::gauge(std::string_view name, std::string_view help, const Labels& labels) {
  Labels key = canonicalLabels(name, labels);
  std::lock_guard<std::mutex> guard(lock_);
  Family& f = family(name, help, Type::kGauge);
  auto it = f.series.try_emplace(std::move(key), std::in_place_type<GaugeImpl>).first;
  auto* gauge = std::get_if<GaugeImpl>(&it->second);
  if (gauge == nullptr) fail(name, "these labels already name a callback gauge");
  return *gauge;
}

void StoreImpl::callbackGauge(std::string_view name, std::string_view help, const Labels& labels,
                              std::function<double()> read) {
  if (!read) fail(name, "callback is empty");
  Labels key = canonicalLabels(name, labels);
  std::lock_guard<std::mutex> guard(lock_);
  Family& f = family(name, help, Type::kGauge);
  // try_emplace leaves `read` untouched when the key exists, so it can still be moved below.
  auto [it, inserted] =
      f.series.try_emplace(std::move(key), std::in_place_type<CallbackGauge>, std::move(read));
  if (inserted) return;
  auto* callback = std::get_if<CallbackGauge>(&it->second);
  if (callback == nullptr) fail(name, "these labels already name a plain gauge");
  *callback = std::move(read);
}

Histogram& StoreImpl::histogram(std::string_view name, std::string_view help, const Labels& labels,
                                const std::vector<double>& bounds) {
  Labels key = canonicalLabels(name, labels);
  std::lock_guard<std::mutex> guard(lock_);
  Family& f = family(name, help, Type::kHistogram);
  auto it = f.series.try_emplace(std::move(key), std::in_place_type<HistogramImpl>, bounds).first;
  return std::get<HistogramImpl>(it->second);
}

std::string StoreImpl::prometheusText() const {
  std::vector<prometheus::MetricFamily> families;
  {
    std::lock_guard<std::mutex> guard(lock_);
    families.reserve(families_.size());
    for (const auto& [name, family] : families_) {
      prometheus::MetricFamily& out = families.emplace_back();
      out.name = name;
      out.help = escapeHelp(family.help);
      out.type = family.type == Type::kCounter     ? prometheus::MetricType::Counter
                 : family.type == Type::kHistogram ? prometheus::MetricType::Histogram
                                                   : prometheus::MetricType::Gauge;
      out.metric.reserve(family.series.size());
      for (const auto& [labels, series] : family.series) {
        prometheus::ClientMetric& metric = out.metric.emplace_back();
        metric.label.reserve(labels.size());
        for (const auto& [label, value] : labels) metric.label.push_back({label, value});
        if (const auto* counter = std::get_if<CounterImpl>(&series)) {
          metric.counter.value = static_cast<double>(counter->value());
        } else if (const auto* histogram = std::get_if<HistogramImpl>(&series)) {
          auto& h = metric.histogram;
          uint64_t cumulative = 0;
          for (size_t i = 0; i <= histogram->bounds().size(); ++i) {
            cumulative += histogram->bucketCount(i);
            auto& bucket = h.bucket.emplace_back();
            bucket.cumulative_count = cumulative;
            bucket.upper_bound = i < histogram->bounds().size()
                                     ? histogram->bounds()[i]
                                     : std::numeric_limits<double>::infinity();
          }
          // The count is the +Inf bucket, so the exposition is consistent even while
          // record() runs concurrently.
          h.sample_count = cumulative;
          h.sample_sum = histogram->sum();
        } else if (const auto* gauge = std::get_if<GaugeImpl>(&series)) {
          metric.gauge.value = static_cast<double>(gauge->value());
        } else {
          metric.gauge.value = std::get<CallbackGauge>(series)();
        }
      }
    }
  }
  // Serialized outside the lock: only the snapshot above needs it.
  return prometheus::TextSerializer().Serialize(families);
}

}  // namespace remora::stats
