#include "source/pilot/manifest_salvage.h"

#include <yaml-cpp/yaml.h>

#include <regex>
#include <sstream>

#include "source/pilot/document/document_from_yaml.h"

namespace remora::pilot {
namespace {

// The documents of `text`: split at lines that start a new document ("---", maybe followed by
// a space and more).
std::vector<std::string> documents(const std::string& text) {
  std::vector<std::string> out(1);
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line == "---" || line.rfind("--- ", 0) == 0) {
      out.emplace_back();
      continue;
    }
    out.back() += line + "\n";
  }
  return out;
}

// The first capture of `pattern` in `text`, "" when it does not match.
std::string find(const std::string& text, const std::regex& pattern) {
  std::smatch match;
  return std::regex_search(text, match, pattern) ? match[1].str() : "";
}

}  // namespace

void salvageManifests(const std::string& file, const std::string& text,
                      std::vector<Object>& objects, std::vector<ManifestError>& errors) {
  static const std::regex kind(R"((?:^|\n)kind:\s*["']?([A-Za-z]+)["']?\s*(?:#.*)?(?:\n|$))");
  static const std::regex name(R"(\bname:\s*["']?([a-z0-9][a-z0-9.-]*)["']?)");
  static const std::regex ns(R"(\bnamespace:\s*["']?([a-z0-9][a-z0-9-]*)["']?)");
  static const std::regex action(R"(\baction:\s*["']?([A-Z]+)["']?)");
  int index = 0;
  for (const std::string& document : documents(text)) {
    ++index;
    try {
      YAML::Load(document);
      parseManifestText(file, document, objects, errors);
      continue;
    } catch (const YAML::Exception&) {
    }
    Object object;
    object.file = file;
    object.kind = find(document, kind);
    // metadata comes before spec in every manifest pilot reads: the first name is its own.
    size_t metadata = document.find("metadata:");
    std::string rest = metadata == std::string::npos ? "" : document.substr(metadata);
    object.name = find(rest, name);
    object.ns = find(rest, ns);
    if (object.ns.empty()) object.ns = "default";
    if (object.kind.empty() || object.name.empty()) {
      errors.push_back({file + ": document " + std::to_string(index) +
                        ": does not parse, and its kind and name cannot be made out"});
      continue;
    }
    object.unreadable = true;
    // What the strictest reading needs to know: ALLOW or DENY.
    YAML::Node known(YAML::NodeType::Map);
    known["kind"] = object.kind;
    if (std::string verb = find(document, action); !verb.empty()) {
      known["spec"]["action"] = verb;
    }
    object.document = documentFromYaml(known);
    object.revision = object.document->contentHash();
    objects.push_back(std::move(object));
  }
}

}  // namespace remora::pilot
