#pragma once

// Source -> guard -> translator, once per reload: reads the source's objects, admits them
// (config_guard.h: fail closed, last good), translates them (the translator keeps its own last
// good versions of objects it finds invalid) and publishes every problem found on the way in
// ConfigIssues. Used by pilot's main loop and by tests, which check the translation a broken
// input leaves in force.

#include <chrono>
#include <memory>
#include <vector>

#include "source/pilot/config_guard.h"
#include "source/pilot/config_issues.h"
#include "source/pilot/config_source.h"
#include "source/pilot/translator.h"

namespace remora::pilot {

// A translator error ("<file>: <Kind> <ns>/<name>: <field>: <message>") as an issue of the
// object it names (one of `objects`, the translator's input). Shared with `analyze`.
ConfigIssue translatorIssue(const ManifestError& error, const std::vector<Object>& objects);
// The same for every error (objects are looked up by name once, not per error).
std::vector<ConfigIssue> translatorIssues(const std::vector<ManifestError>& errors,
                                          const std::vector<Object>& objects);

class ConfigPipeline {
 public:
  ConfigPipeline(ConfigSource& source, TranslateOptions options, ConfigIssues& issues)
      : source_(source),
        options_(std::move(options)),
        guard_(options_.trust_domain),
        issues_(issues) {}

  struct Result {
    std::shared_ptr<const Translator> translator;
    // The problems of the source and the guard, as lines (the translator's are in its own
    // errors()): for SnapshotCache::update and /debug/syncz.
    std::vector<ManifestError> errors;
    size_t objects = 0;  // admitted
    std::chrono::microseconds took{0};
    // Of `took`: reading the source, the guard's checks, the translation.
    std::chrono::microseconds source_took{0};
    std::chrono::microseconds guard_took{0};
    std::chrono::microseconds translate_took{0};
  };
  Result reload();

 private:
  ConfigSource& source_;
  TranslateOptions options_;
  ConfigGuard guard_;
  ConfigIssues& issues_;
  std::shared_ptr<const Translator> last_;
};

}  // namespace remora::pilot
