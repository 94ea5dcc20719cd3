#include "source/pilot/xds_auth/auth_failures.h"
#include "source/common/common/logger.h"

#include <cstdio>

namespace remora::pilot::xds_auth {

AuthFailures::AuthFailures(std::chrono::seconds log_interval, Clock clock, LogSink sink)
    : log_interval_(log_interval), clock_(std::move(clock)), sink_(std::move(sink)) {
  if (!clock_) clock_ = [] { return std::chrono::steady_clock::now(); };
  if (!sink_) {
    sink_ = [](const std::string& line) { REMORA_LOG(info, "%s", line.c_str()); };
  }
}

void AuthFailures::refused(Refusal refusal, const std::string& peer, const std::string& message) {
  std::string line;
  {
    std::lock_guard<std::mutex> guard(mutex_);
    PerReason& state = reasons_[refusal];
    ++state.total;
    const auto now = clock_();
    if (state.logged_once && now - state.last_logged < log_interval_) {
      ++state.unlogged;
      return;
    }
    line = "discovery refused (" + std::string(refusalLabel(refusal)) + ") for " + peer + ": " +
           message;
    if (state.unlogged > 0) {
      line += " [" + std::to_string(state.unlogged) + " more refused for this reason since the " +
              "last report]";
    }
    state.unlogged = 0;
    state.last_logged = now;
    state.logged_once = true;
  }
  sink_(line);
}

void AuthFailures::admitted() {
  std::lock_guard<std::mutex> guard(mutex_);
  ++admitted_;
}

uint64_t AuthFailures::count(Refusal refusal) const {
  std::lock_guard<std::mutex> guard(mutex_);
  auto it = reasons_.find(refusal);
  return it == reasons_.end() ? 0 : it->second.total;
}

std::string AuthFailures::render() const {
  std::lock_guard<std::mutex> guard(mutex_);
  std::string out;
  out +=
      "# HELP pilot_xds_auth_failures_total Discovery streams on the TLS port refused, by "
      "reason.\n";
  out += "# TYPE pilot_xds_auth_failures_total counter\n";
  for (Refusal refusal : allRefusals()) {
    auto it = reasons_.find(refusal);
    out += "pilot_xds_auth_failures_total{reason=\"" + std::string(refusalLabel(refusal)) + "\"} " +
           std::to_string(it == reasons_.end() ? 0 : it->second.total) + "\n";
  }
  out +=
      "# HELP pilot_xds_authenticated_streams_total Discovery streams on the TLS port "
      "admitted after the identity checks.\n";
  out += "# TYPE pilot_xds_authenticated_streams_total counter\n";
  out += "pilot_xds_authenticated_streams_total " + std::to_string(admitted_) + "\n";
  return out;
}

}  // namespace remora::pilot::xds_auth
