#include "source/pilot/manifests.h"

#include <dirent.h>

#include <algorithm>
#include <fstream>
#include <set>
#include <sstream>

#include <yaml-cpp/yaml.h>

#include "source/pilot/document/document_from_yaml.h"

namespace remora::pilot {
namespace {

const std::set<std::string> kKinds = {"Service",
                                      "Endpoints",
                                      "EndpointSlice",
                                      "Pod",
                                      "VirtualService",
                                      "DestinationRule",
                                      "ServiceEntry",
                                      "Sidecar",
                                      "PeerAuthentication",
                                      "AuthorizationPolicy",
                                      "Namespace"};

// Istio's API groups: their kinds are kept even when pilot does not implement them, to be
// reported as not supported rather than silently ignored.
bool istioGroup(const YAML::Node& doc) {
  if (!doc["apiVersion"] || !doc["apiVersion"].IsScalar()) return false;
  return doc["apiVersion"].Scalar().find(".istio.io/") != std::string::npos;
}

bool isManifest(const std::string& name) {
  auto ends = [&](const std::string& suffix) {
    return name.size() > suffix.size() &&
           name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0;
  };
  return name[0] != '.' && (ends(".yaml") || ends(".yml"));
}

}  // namespace

void parseManifestText(const std::string& file, const std::string& text,
                       std::vector<Object>& objects, std::vector<ManifestError>& errors) {
  std::vector<YAML::Node> documents;
  try {
    documents = YAML::LoadAll(text);
  } catch (const YAML::Exception& e) {
    errors.push_back({file + ": not valid YAML: " + e.what()});
    return;
  }
  for (size_t i = 0; i < documents.size(); ++i) {
    const YAML::Node& doc = documents[i];
    if (!doc || doc.IsNull()) continue;
    std::string where = file + ": document " + std::to_string(i + 1);
    if (!doc.IsMap()) {
      errors.push_back({where + ": not a mapping"});
      continue;
    }
    // A List (kubectl get -o yaml) holds its objects in items.
    if (doc["kind"] && doc["kind"].IsScalar() && doc["kind"].as<std::string>() == "List") {
      std::string inner;
      for (const auto& item : doc["items"]) inner += "---\n" + YAML::Dump(item) + "\n";
      parseManifestText(file, inner, objects, errors);
      continue;
    }
    if (!doc["kind"] || !doc["kind"].IsScalar()) {
      errors.push_back({where + ": kind: required"});
      continue;
    }
    Object object;
    object.file = file;
    object.kind = doc["kind"].as<std::string>();
    if (kKinds.count(object.kind) == 0 && !istioGroup(doc)) continue;
    const YAML::Node& metadata = doc["metadata"];
    if (!metadata || !metadata["name"] || !metadata["name"].IsScalar() ||
        metadata["name"].as<std::string>().empty()) {
      errors.push_back({where + ": " + object.kind + ": metadata.name: required"});
      continue;
    }
    object.name = metadata["name"].as<std::string>();
    object.ns = metadata["namespace"] && metadata["namespace"].IsScalar()
                    ? metadata["namespace"].as<std::string>()
                    : "default";
    object.document = documentFromYaml(doc);
    object.revision = object.document->contentHash();
    objects.push_back(std::move(object));
  }
}

std::vector<Object> loadManifests(const std::string& dir, std::vector<ManifestError>& errors) {
  std::vector<std::string> names;
  if (DIR* d = opendir(dir.c_str())) {
    while (dirent* entry = readdir(d)) {
      if (isManifest(entry->d_name)) names.emplace_back(entry->d_name);
    }
    closedir(d);
  } else {
    errors.push_back({dir + ": cannot read the folder"});
  }
  std::sort(names.begin(), names.end());
  std::vector<Object> objects;
  for (const auto& name : names) {
    std::ifstream in(dir + "/" + name);
    if (!in) {
      errors.push_back({name + ": cannot be read"});
      continue;
    }
    std::stringstream text;
    text << in.rdbuf();
    parseManifestText(name, text.str(), objects, errors);
  }
  return objects;
}

}  // namespace remora::pilot
