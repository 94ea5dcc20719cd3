#include "source/pilot/config_pipeline.h"

namespace remora::pilot {

ConfigIssue translatorIssue(const ManifestError& error, const std::vector<Object>& objects) {
  ConfigIssue issue;
  issue.reason = "invalid";
  issue.message = error.message;
  for (const auto& object : objects) {
    std::string prefix = object.where() + ": ";
    if (error.message.rfind(prefix, 0) != 0) continue;
    issue.kind = object.kind;
    issue.ns = object.ns;
    issue.name = object.name;
    issue.file = object.file;
    std::string rest = error.message.substr(prefix.size());
    size_t colon = rest.find(": ");
    issue.field = colon == std::string::npos ? "" : rest.substr(0, colon);
    issue.message = colon == std::string::npos ? rest : rest.substr(colon + 2);
    break;
  }
  return issue;
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
  std::vector<Object> objects = admitted.objects;
  auto translating = std::chrono::steady_clock::now();
  out.translator =
      std::make_shared<const Translator>(std::move(admitted.objects), options_, last_.get());
  out.translate_took = since(translating);
  last_ = out.translator;
  for (const auto& error : out.translator->errors()) {
    issues.push_back(translatorIssue(error, objects));
  }
  issues_.update(std::move(issues));
  out.took = since(start);
  return out;
}

}  // namespace remora::pilot
