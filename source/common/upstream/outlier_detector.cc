#include "source/common/upstream/outlier_detector.h"

#include <algorithm>
#include <cmath>

#include "source/common/upstream/host_health.h"

namespace remora::upstream {

OutlierDetector::OutlierDetector(const OutlierConfig& config,
                                 const std::vector<HostConstSharedPtr>& hosts,
                                 const std::string& cluster, stats::Store& store)
    : config_(config), hosts_(hosts) {
  for (size_t i = 0; i < hosts_.size(); ++i) {
    state_.push_back(std::make_unique<PerHost>());
    index_[hosts_[i].get()] = i;
  }
  ejections_active_ =
      &store.gauge("remora_cluster_outlier_ejections_active",
                   "Hosts ejected by outlier detection now.", {{"cluster", cluster}});
  for (const char* reason :
       {"consecutive_5xx", "consecutive_gateway_failure", "consecutive_local_origin_failure",
        "success_rate", "failure_percentage"}) {
    ejections_total_.push_back(&store.counter("remora_cluster_outlier_ejections_total",
                                              "Hosts ejected by outlier detection, by reason.",
                                              {{"cluster", cluster}, {"reason", reason}}));
  }
}

void OutlierDetector::inheritFrom(const OutlierDetector& previous) {
  std::scoped_lock lock(mutex_, previous.mutex_);
  for (size_t i = 0; i < hosts_.size(); ++i) {
    auto it = previous.index_.find(hosts_[i].get());
    if (it == previous.index_.end()) continue;
    const PerHost& old = *previous.state_[it->second];
    PerHost& s = *state_[i];
    s.ejected = old.ejected;
    s.ejections = old.ejections;
    s.until = old.until;
    if (s.ejected) ++ejected_count_;
  }
  ejections_active_->set(static_cast<int64_t>(ejected_count_));
}

void OutlierDetector::reportResult(const Host& host, uint32_t status, TimePoint now) {
  auto it = index_.find(&host);
  if (it == index_.end()) return;
  PerHost& s = *state_[it->second];
  if (status == 0) {
    // Local origin (connect failure, reset, timeout); without a split mode it is also a
    // gateway error and a 5xx, as the client would see it.
    s.failures.fetch_add(1, std::memory_order_relaxed);
    uint32_t local = s.consecutive_local.fetch_add(1, std::memory_order_relaxed) + 1;
    uint32_t gateway = s.consecutive_gateway.fetch_add(1, std::memory_order_relaxed) + 1;
    uint32_t five = s.consecutive_5xx.fetch_add(1, std::memory_order_relaxed) + 1;
    if (config_.consecutive_local_origin_failure != 0 &&
        local >= config_.consecutive_local_origin_failure) {
      eject(it->second, Reason::kConsecutiveLocal, now);
    } else if (config_.consecutive_gateway_failure != 0 &&
               gateway >= config_.consecutive_gateway_failure) {
      eject(it->second, Reason::kConsecutiveGateway, now);
    } else if (config_.consecutive_5xx != 0 && five >= config_.consecutive_5xx) {
      eject(it->second, Reason::kConsecutive5xx, now);
    }
    return;
  }
  s.consecutive_local.store(0, std::memory_order_relaxed);
  if (status < 500) {
    s.successes.fetch_add(1, std::memory_order_relaxed);
    s.consecutive_5xx.store(0, std::memory_order_relaxed);
    s.consecutive_gateway.store(0, std::memory_order_relaxed);
    return;
  }
  s.failures.fetch_add(1, std::memory_order_relaxed);
  uint32_t five = s.consecutive_5xx.fetch_add(1, std::memory_order_relaxed) + 1;
  bool gateway_error = status == 502 || status == 503 || status == 504;
  uint32_t gateway = gateway_error
                         ? s.consecutive_gateway.fetch_add(1, std::memory_order_relaxed) + 1
                         : (s.consecutive_gateway.store(0, std::memory_order_relaxed), 0u);
  if (config_.consecutive_gateway_failure != 0 && gateway >= config_.consecutive_gateway_failure) {
    eject(it->second, Reason::kConsecutiveGateway, now);
  } else if (config_.consecutive_5xx != 0 && five >= config_.consecutive_5xx) {
    eject(it->second, Reason::kConsecutive5xx, now);
  }
}

void OutlierDetector::eject(size_t index, Reason reason, TimePoint now) {
  std::lock_guard<std::mutex> lock(mutex_);
  ejectLocked(index, reason, now);
}

void OutlierDetector::ejectLocked(size_t index, Reason reason, TimePoint now) {
  PerHost& s = *state_[index];
  if (s.ejected) return;
  // The cap, but one host may always go (else a cluster of fewer than ten never ejects).
  if (ejected_count_ >= 1 &&
      (ejected_count_ + 1) * 100 > hosts_.size() * config_.max_ejection_percent) {
    return;
  }
  s.ejected = true;
  ++s.ejections;
  auto time = config_.base_ejection_time * s.ejections;
  s.until = now + std::min(time, std::max(config_.max_ejection_time, config_.base_ejection_time));
  ++ejected_count_;
  s.consecutive_5xx = 0;
  s.consecutive_gateway = 0;
  s.consecutive_local = 0;
  setHealthFlag(*hosts_[index], Host::kOutlierEjected, true);
  ejections_active_->set(static_cast<int64_t>(ejected_count_));
  ejections_total_[static_cast<size_t>(reason)]->inc();
}

void OutlierDetector::evaluate(TimePoint now) {
  std::lock_guard<std::mutex> lock(mutex_);
  for (size_t i = 0; i < hosts_.size(); ++i) {
    PerHost& s = *state_[i];
    if (s.ejected && now >= s.until) {
      s.ejected = false;
      --ejected_count_;
      setHealthFlag(*hosts_[i], Host::kOutlierEjected, false);
    }
  }
  ejections_active_->set(static_cast<int64_t>(ejected_count_));
  // This interval's volumes, then start the next interval from zero.
  std::vector<std::pair<uint64_t, uint64_t>> volume(hosts_.size());
  for (size_t i = 0; i < hosts_.size(); ++i) {
    volume[i] = {state_[i]->successes.exchange(0), state_[i]->failures.exchange(0)};
  }
  // Success rate: outliers among hosts with enough requests.
  std::vector<std::pair<size_t, double>> rates;
  for (size_t i = 0; i < hosts_.size(); ++i) {
    uint64_t total = volume[i].first + volume[i].second;
    if (!state_[i]->ejected && total >= config_.success_rate_request_volume && total > 0) {
      rates.push_back({i, static_cast<double>(volume[i].first) / static_cast<double>(total)});
    }
  }
  if (rates.size() >= config_.success_rate_minimum_hosts && !rates.empty()) {
    double mean = 0;
    for (auto& [i, rate] : rates) mean += rate;
    mean /= static_cast<double>(rates.size());
    double variance = 0;
    for (auto& [i, rate] : rates) variance += (rate - mean) * (rate - mean);
    double stdev = std::sqrt(variance / static_cast<double>(rates.size()));
    double threshold = mean - config_.success_rate_stdev_factor * stdev;
    for (auto& [i, rate] : rates) {
      if (rate < threshold) ejectLocked(i, Reason::kSuccessRate, now);
    }
  }
  // Failure percentage: an absolute bar.
  if (config_.failure_percentage_threshold != 0) {
    std::vector<size_t> eligible;
    for (size_t i = 0; i < hosts_.size(); ++i) {
      uint64_t total = volume[i].first + volume[i].second;
      if (total >= config_.failure_percentage_request_volume && total > 0) eligible.push_back(i);
    }
    if (eligible.size() >= config_.failure_percentage_minimum_hosts) {
      for (size_t i : eligible) {
        uint64_t total = volume[i].first + volume[i].second;
        if (volume[i].second * 100 >= total * config_.failure_percentage_threshold) {
          ejectLocked(i, Reason::kFailurePercentage, now);
        }
      }
    }
  }
}

OutlierDetector::HostState OutlierDetector::state(const Host& host) const {
  auto it = index_.find(&host);
  if (it == index_.end()) return {};
  std::lock_guard<std::mutex> lock(mutex_);
  return {state_[it->second]->ejected, state_[it->second]->ejections};
}

}  // namespace remora::upstream
