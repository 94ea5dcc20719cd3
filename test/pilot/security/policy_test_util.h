#pragma once

// Manifest text -> pilot Objects for the authorization policy tests, through the pilot's own
// loader (parseManifestText).

#include <yaml-cpp/yaml.h>

#include <string>
#include <vector>

#include "source/pilot/document/document_from_yaml.h"
#include "source/pilot/manifests.h"

namespace remora::pilot::testing {

// Whether the pilot's loader keeps AuthorizationPolicy objects (it drops the kinds it does not
// list; adding this one is part of wiring the authorization translation into pilot).
inline bool loaderKeepsAuthorizationPolicies() {
  std::vector<Object> objects;
  std::vector<ManifestError> errors;
  parseManifestText("probe.yaml", "kind: AuthorizationPolicy\nmetadata: {name: probe}\n", objects,
                    errors);
  return objects.size() == 1;
}

// The objects of one manifest file's text. Until the loader keeps AuthorizationPolicy objects,
// those documents are built here the way the loader builds objects (same name, namespace and
// error rules), so that the tests exercise the translation either way.
inline std::vector<Object> objectsFromText(const std::string& text,
                                           std::vector<ManifestError>& errors,
                                           const std::string& file = "authz.yaml") {
  std::vector<Object> objects;
  parseManifestText(file, text, objects, errors);
  if (loaderKeepsAuthorizationPolicies()) return objects;
  std::vector<YAML::Node> documents = YAML::LoadAll(text);
  for (size_t i = 0; i < documents.size(); ++i) {
    const YAML::Node& doc = documents[i];
    if (!doc.IsMap() || !doc["kind"] || doc["kind"].as<std::string>() != "AuthorizationPolicy") {
      continue;
    }
    const YAML::Node& metadata = doc["metadata"];
    if (!metadata || !metadata["name"] || !metadata["name"].IsScalar()) {
      errors.push_back({file + ": document " + std::to_string(i + 1) +
                        ": AuthorizationPolicy: metadata.name: required"});
      continue;
    }
    Object object;
    object.file = file;
    object.kind = "AuthorizationPolicy";
    object.name = metadata["name"].as<std::string>();
    object.ns = metadata["namespace"] && metadata["namespace"].IsScalar()
                    ? metadata["namespace"].as<std::string>()
                    : "default";
    object.document = documentFromYaml(doc);
    objects.push_back(std::move(object));
  }
  return objects;
}

}  // namespace remora::pilot::testing
