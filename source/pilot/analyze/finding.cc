#include "source/pilot/analyze/finding.h"

#include <algorithm>
#include <tuple>

namespace remora::pilot::analyze {
namespace {

auto sortKey(const Finding& f) {
  return std::tie(f.severity, f.kind, f.ns, f.name, f.code, f.message, f.file);
}

}  // namespace

std::string Finding::line() const {
  std::string out = severity == Severity::kError ? "Error" : "Warning";
  out += " [" + code + "] ";
  if (kind.empty()) {
    // A problem of a file, or (no file either) of the configuration as a whole.
    out += (file.empty() ? std::string("(mesh) ") : "(file " + file + ") ") + message;
  } else {
    out += "(" + kind + " " + ns + "/" + name + ") " + message;
    if (!file.empty()) out += " (in " + file + ")";
  }
  return out;
}

void sortFindings(std::vector<Finding>& findings) {
  std::sort(findings.begin(), findings.end(),
            [](const Finding& a, const Finding& b) { return sortKey(a) < sortKey(b); });
  findings.erase(
      std::unique(findings.begin(), findings.end(),
                  [](const Finding& a, const Finding& b) { return sortKey(a) == sortKey(b); }),
      findings.end());
}

bool hasErrors(const std::vector<Finding>& findings) {
  return std::any_of(findings.begin(), findings.end(),
                     [](const Finding& f) { return f.severity == Finding::Severity::kError; });
}

}  // namespace remora::pilot::analyze
