#pragma once

// The problems of pilot's current inputs, kept as a set that each reload replaces, and shown in
// three places: the log (each new problem once, when it appears; at most kMaxLoggedPerUpdate
// lines per reload, then a count), GET /debug/config_errors on the monitoring port (JSON) and
// the gauge pilot_config_errors{kind,reason} on /metrics. Thread-safe: reloads write, the
// monitoring thread reads.

#include <cstddef>
#include <mutex>
#include <set>
#include <string>
#include <vector>

namespace remora::pilot {

struct ConfigIssue {
  enum class Severity { kError, kWarning };
  Severity severity = Severity::kError;
  std::string kind;  // "" for a problem of the source itself (a file, the folder)
  std::string ns;
  std::string name;
  std::string file;
  std::string field;  // "spec.http[0].matchh"; "" for the whole object or file
  // For the metric: unknown_field, wrong_type, bad_enum, not_supported, invalid, parse_error,
  // duplicate, unsupported_kind, source_unavailable.
  std::string reason;
  std::string message;

  // "VirtualService default/reviews (routes.yaml): spec.http[0].matchh: unknown field"
  std::string line() const;
};

class ConfigIssues {
 public:
  static constexpr size_t kMaxLoggedPerUpdate = 20;

  // Replaces the current set and logs the issues that were not in it.
  void update(std::vector<ConfigIssue> issues);
  std::vector<ConfigIssue> current() const;
  // {"errors": N, "warnings": N, "issues": [{"severity", "kind", "namespace", "name", "file",
  // "field", "reason", "message"}, ...]}
  std::string page() const;
  // # TYPE pilot_config_errors gauge, one sample per (kind, reason) with current issues
  // (kind "source" for problems of the source itself).
  std::string metrics() const;

 private:
  mutable std::mutex lock_;
  std::vector<ConfigIssue> issues_;
  std::set<std::string> logged_;
};

}  // namespace remora::pilot
