#pragma once

// `remora-pilot analyze` as a library: everything pilot would report about a config source's
// objects, plus the references between them, as sorted findings (finding.h).
//
// The checks are pilot's own, run the way pilot runs them (config_pipeline.h): the source's
// problems (files that do not parse, objects without kind or name), the fail-closed guard's
// (schema, duplicates, unsupported kinds, the outcome of each rejected object) and the
// translator's, then the reference checks (reference_checks.h) over the objects the guard
// admits. Any ConfigSource can be analysed: the folder, or the Kubernetes API server once it
// is one.

#include <vector>

#include "source/pilot/analyze/finding.h"
#include "source/pilot/config_source.h"
#include "source/pilot/translator.h"

namespace remora::pilot::analyze {

// Takes one snapshot of `source`.
std::vector<Finding> analyzeSource(ConfigSource& source, const TranslateOptions& options);

// A problem pilot reports, as analyze prints it (the code by its reason).
Finding findingOf(const ConfigIssue& issue);

}  // namespace remora::pilot::analyze
