#include "source/pilot/analyze/analyzer.h"

#include "source/pilot/analyze/mesh_index.h"
#include "source/pilot/analyze/reference_checks.h"
#include "source/pilot/config_guard.h"
#include "source/pilot/config_pipeline.h"

namespace remora::pilot::analyze {

Finding findingOf(const ConfigIssue& issue) {
  Finding f;
  f.severity = issue.severity == ConfigIssue::Severity::kError ? Finding::Severity::kError
                                                               : Finding::Severity::kWarning;
  if (issue.kind.empty() || issue.reason == "parse_error") {
    f.code = code::kManifestUnreadable;  // a file, the folder, or a document
  } else if (issue.reason == "unsupported_kind") {
    f.code = code::kUnsupportedKind;
  } else if (issue.reason == "duplicate") {
    f.code = code::kDuplicateObject;
  } else if (issue.reason == "rejected") {
    f.code = code::kObjectRejected;
  } else {
    // unknown_field, wrong_type, bad_enum, not_supported, invalid
    f.code = code::kSchemaValidationError;
  }
  f.kind = issue.kind;
  f.ns = issue.ns;
  f.name = issue.name;
  f.file = issue.file;
  f.message = issue.field.empty() ? issue.message : issue.field + ": " + issue.message;
  return f;
}

std::vector<Finding> analyzeSource(ConfigSource& source, const TranslateOptions& options) {
  std::vector<Finding> out;
  SourceSnapshot snapshot = source.snapshot();
  for (const auto& issue : snapshot.issues) out.push_back(findingOf(issue));

  ConfigGuard guard(options.trust_domain);
  ConfigGuard::Admitted admitted = guard.admit(std::move(snapshot.objects));
  for (const auto& issue : admitted.issues) out.push_back(findingOf(issue));

  Translator translator(admitted.objects, options);
  for (const auto& issue : translatorIssues(translator.errors(), admitted.objects)) {
    out.push_back(findingOf(issue));
  }

  MeshIndex index(admitted.objects, options.cluster_domain);
  for (auto& finding : checkReferences(admitted.objects, index, options.root_namespace)) {
    out.push_back(std::move(finding));
  }
  sortFindings(out);
  return out;
}

}  // namespace remora::pilot::analyze
