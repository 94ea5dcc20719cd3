#include "source/pilot/config_issues.h"

#include <algorithm>
#include <map>
#include <tuple>
#include <utility>

#include "source/common/common/json_string.h"
#include "source/common/common/logger.h"

namespace remora::pilot {
namespace {

// A Prometheus label value.
std::string label(const std::string& text) {
  std::string out;
  for (char c : text) {
    if (c == '"' || c == '\\') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out;
}

}  // namespace

std::string ConfigIssue::line() const {
  std::string out;
  if (!kind.empty()) {
    out = kind + " " + ns + "/" + name + (file.empty() ? "" : " (" + file + ")");
  } else {
    out = file;
  }
  if (!field.empty()) out += ": " + field;
  return out + ": " + message;
}

void ConfigIssues::update(std::vector<ConfigIssue> issues) {
  // Grouped by object (its problems first, then the outcome), in a stable order.
  std::stable_sort(issues.begin(), issues.end(), [](const ConfigIssue& a, const ConfigIssue& b) {
    return std::tie(a.file, a.kind, a.ns, a.name) < std::tie(b.file, b.kind, b.ns, b.name);
  });
  std::set<std::string> lines;
  size_t logged = 0;
  size_t unlogged = 0;
  for (const auto& issue : issues) {
    std::string line = issue.line();
    lines.insert(line);
    std::lock_guard<std::mutex> guard(lock_);
    if (logged_.count(line)) continue;
    if (logged == kMaxLoggedPerUpdate) {
      ++unlogged;
      continue;
    }
    ++logged;
    if (issue.severity == ConfigIssue::Severity::kError) {
      REMORA_LOG(error, "config: %s", line.c_str());
    } else {
      REMORA_LOG(warn, "config: %s", line.c_str());
    }
  }
  if (unlogged > 0) {
    REMORA_LOG(error, "config: %zu more problems, see /debug/config_errors", unlogged);
  }
  std::lock_guard<std::mutex> guard(lock_);
  // Remembered while they last: a problem that goes away and comes back is logged again.
  logged_ = std::move(lines);
  issues_ = std::move(issues);
}

std::vector<ConfigIssue> ConfigIssues::current() const {
  std::lock_guard<std::mutex> guard(lock_);
  return issues_;
}

std::string ConfigIssues::page() const {
  auto issues = current();
  size_t errors = 0;
  std::string list;
  for (const auto& issue : issues) {
    bool error = issue.severity == ConfigIssue::Severity::kError;
    errors += error ? 1 : 0;
    list += std::string(list.empty() ? "" : ",\n") +
            "  {\"severity\": " + (error ? "\"error\"" : "\"warning\"") +
            ", \"kind\": " + json::quote(issue.kind) + ", \"namespace\": " + json::quote(issue.ns) +
            ", \"name\": " + json::quote(issue.name) + ", \"file\": " + json::quote(issue.file) +
            ", \"field\": " + json::quote(issue.field) +
            ", \"reason\": " + json::quote(issue.reason) +
            ", \"message\": " + json::quote(issue.message) + "}";
  }
  return "{\"errors\": " + std::to_string(errors) +
         ", \"warnings\": " + std::to_string(issues.size() - errors) + ", \"issues\": [\n" + list +
         (list.empty() ? "" : "\n") + "]}\n";
}

std::string ConfigIssues::metrics() const {
  std::map<std::pair<std::string, std::string>, size_t> counts;
  for (const auto& issue : current()) {
    ++counts[{issue.kind.empty() ? "source" : issue.kind, issue.reason}];
  }
  std::string out =
      "# HELP pilot_config_errors Current problems of pilot's inputs (objects rejected, "
      "files that do not parse, duplicates, unsupported kinds) by kind and reason.\n"
      "# TYPE pilot_config_errors gauge\n";
  for (const auto& [key, count] : counts) {
    out += "pilot_config_errors{kind=\"" + label(key.first) + "\",reason=\"" + label(key.second) +
           "\"} " + std::to_string(count) + "\n";
  }
  return out;
}

}  // namespace remora::pilot
