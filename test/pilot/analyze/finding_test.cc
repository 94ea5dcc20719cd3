// Finding lines, their order, and the code each of pilot's issue reasons is printed with.

#include "source/pilot/analyze/finding.h"

#include "gtest/gtest.h"
#include "source/pilot/analyze/analyzer.h"

namespace remora::pilot::analyze {
namespace {

Finding finding(Finding::Severity severity, const char* code, const char* kind, const char* name,
                const char* message) {
  Finding f;
  f.severity = severity;
  f.code = code;
  f.kind = kind;
  f.ns = "default";
  f.name = name;
  f.message = message;
  return f;
}

TEST(FindingTest, LinesNameTheObjectTheFileOrTheMesh) {
  Finding object = finding(Finding::Severity::kError, "IST0101", "VirtualService", "reviews",
                           "spec.hosts[0]: x");
  object.file = "routes.yaml";
  EXPECT_EQ(object.line(),
            "Error [IST0101] (VirtualService default/reviews) spec.hosts[0]: x (in routes.yaml)");
  Finding file = finding(Finding::Severity::kWarning, "RMR0001", "", "", "not valid YAML");
  file.ns = "";
  file.file = "a.yaml";
  EXPECT_EQ(file.line(), "Warning [RMR0001] (file a.yaml) not valid YAML");
  file.file = "";
  EXPECT_EQ(file.line(), "Warning [RMR0001] (mesh) not valid YAML");
}

TEST(FindingTest, SortedErrorsFirstThenByObjectWithoutRepeats) {
  using S = Finding::Severity;
  std::vector<Finding> findings = {
      finding(S::kWarning, "RMR0101", "DestinationRule", "a", "w"),
      finding(S::kError, "IST0106", "VirtualService", "b", "e2"),
      finding(S::kError, "IST0101", "VirtualService", "b", "e1"),
      finding(S::kError, "IST0101", "DestinationRule", "z", "e0"),
      finding(S::kError, "IST0101", "VirtualService", "b", "e1"),
  };
  sortFindings(findings);
  std::vector<std::string> messages;
  for (const auto& f : findings) messages.push_back(f.message);
  EXPECT_EQ(messages, (std::vector<std::string>{"e0", "e1", "e2", "w"}));
  EXPECT_TRUE(hasErrors(findings));
  findings.resize(0);
  findings.push_back(finding(S::kWarning, "RMR0101", "DestinationRule", "a", "w"));
  EXPECT_FALSE(hasErrors(findings));
}

TEST(FindingTest, IssueReasonsMapToCodes) {
  struct Row {
    const char* kind;
    const char* reason;
    const char* code;
  };
  for (const Row& row :
       {Row{"", "parse_error", "RMR0001"}, Row{"", "source_unavailable", "RMR0001"},
        Row{"Service", "parse_error", "RMR0001"}, Row{"VirtualService", "unknown_field", "IST0106"},
        Row{"VirtualService", "wrong_type", "IST0106"},
        Row{"DestinationRule", "bad_enum", "IST0106"},
        Row{"VirtualService", "not_supported", "IST0106"},
        Row{"VirtualService", "invalid", "IST0106"}, Row{"VirtualService", "rejected", "RMR0002"},
        Row{"DestinationRule", "duplicate", "RMR0003"},
        Row{"Gateway", "unsupported_kind", "RMR0004"}}) {
    ConfigIssue issue;
    issue.kind = row.kind;
    issue.reason = row.reason;
    issue.field = "spec.x";
    issue.message = "m";
    Finding f = findingOf(issue);
    EXPECT_EQ(f.code, row.code) << row.kind << " " << row.reason;
    EXPECT_EQ(f.message, "spec.x: m");
  }
}

}  // namespace
}  // namespace remora::pilot::analyze
