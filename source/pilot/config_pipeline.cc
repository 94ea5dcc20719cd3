#include "source/pilot/config_pipeline.h"

#include <map>
#include <string_view>

namespace remora::pilot {

namespace {

// `object`: the one the error names (null: none found).
ConfigIssue issueOf(const ManifestError& error, const Object* object) {
  ConfigIssue issue;
  issue.reason = "invalid";
  issue.message = error.message;
  std::string prefix = object ? object->where() + ": " : "";
  if (object != nullptr && error.message.rfind(prefix, 0) == 0) {
    issue.kind = object->kind;
    issue.ns = object->ns;
    issue.name = object->name;
    issue.file = object->file;
    std::string rest = error.message.substr(prefix.size());
    size_t colon = rest.find(": ");
    issue.field = colon == std::string::npos ? "" : rest.substr(0, colon);
    issue.message = colon == std::string::npos ? rest : rest.substr(colon + 2);
  }
  return issue;
}

// The object an error names: its message starts with the object's where() and ": ".
const Object* namedBy(const ManifestError& error,
                      const std::map<std::string, const Object*, std::less<>>& by_where) {
  // where() is "<file>: <Kind> <ns>/<name>": the prefix ends at the first ": " after the
  // first ": " (files and names hold no ": ").
  size_t first = error.message.find(": ");
  if (first == std::string::npos) return nullptr;
  size_t second = error.message.find(": ", first + 2);
  std::string_view prefix(error.message.data(),
                          second == std::string::npos ? error.message.size() : second);
  auto it = by_where.find(prefix);
  return it == by_where.end() ? nullptr : it->second;
}

}  // namespace

std::vector<ConfigIssue> translatorIssues(const std::vector<ManifestError>& errors,
                                          const std::vector<Object>& objects) {
  std::vector<ConfigIssue> out;
  if (errors.empty()) return out;
  std::map<std::string, const Object*, std::less<>> by_where;
  for (const auto& object : objects) by_where.emplace(object.where(), &object);
  for (const auto& error : errors) out.push_back(issueOf(error, namedBy(error, by_where)));
  return out;
}

ConfigIssue translatorIssue(const ManifestError& error, const std::vector<Object>& objects) {
  return translatorIssues({error}, objects).front();
}

ConfigPipeline::Result ConfigPipeline::reload() {
  auto start = std::chrono::steady_clock::now();
  auto since = [](std::chrono::steady_clock::time_point from) {
    return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() -
                                                                 from);
  };
  Result out;
  SourceSnapshot snapshot = source_.snapshot();
  out.source_took = since(start);
  auto guarding = std::chrono::steady_clock::now();
  ConfigGuard::Admitted admitted = guard_.admit(std::move(snapshot.objects));
  out.guard_took = since(guarding);
  out.objects = admitted.objects.size();
  std::vector<ConfigIssue> issues = std::move(snapshot.issues);
  issues.insert(issues.end(), admitted.issues.begin(), admitted.issues.end());
  for (const auto& issue : issues) out.errors.push_back({issue.line()});
  const std::vector<Object>& objects = admitted.objects;
  auto translating = std::chrono::steady_clock::now();
  out.translator = std::make_shared<const Translator>(objects, options_, last_.get());
  out.translate_took = since(translating);
  last_ = out.translator;
  for (auto& issue : translatorIssues(out.translator->errors(), objects)) {
    issues.push_back(std::move(issue));
  }
  issues_.update(std::move(issues));
  out.took = since(start);
  return out;
}

}  // namespace remora::pilot
