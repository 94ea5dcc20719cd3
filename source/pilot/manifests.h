#pragma once

// Kubernetes and Istio-style manifests read from a folder: every `*.yaml` / `*.yml` file,
// each possibly holding several documents (`---`). Objects are kept as compact documents
// (document/compact_document.h) with where they came from; the translator reads the fields it
// knows. Kinds of other API groups are skipped silently (a folder may hold Deployments and the
// like); kinds of Istio's groups are kept, so that the ones pilot does not implement are
// reported (config_guard.h). Unparsable files and objects without a kind or name are reported.

#include "source/pilot/document/compact_document.h"
#include "source/pilot/yaml_view.h"

#include <cstdint>
#include <string>
#include <vector>

namespace remora::pilot {

struct Object {
  std::string file;  // path relative to the folder (or the source's name for the object)
  // The file's modification time (ns since the epoch): of two definitions of one object the
  // older wins (config_guard.h). 0 when unknown.
  int64_t file_mtime_ns = 0;
  // The object's document did not parse (manifest_salvage.h): only kind, namespace and name
  // are known, and the config guard rejects it.
  bool unreadable = false;
  std::string kind;
  std::string ns;  // metadata.namespace, "default" when absent
  std::string name;
  // The whole object, immutable and shared: copying an Object copies a pointer. Never null
  // once the source has made the Object (a default Object reads as an empty document).
  CompactDocumentPtr document;
  // Changes whenever the content does: the Kubernetes source's metadata.resourceVersion, the
  // folder source's hash of the document (the same document, the same revision, across
  // reloads). Equal revisions of one kind/namespace/name mean equal objects.
  std::string revision;
  YamlView view() const { return YamlView(document ? document : CompactDocument::empty()); }

  // "vs.yaml: VirtualService default/reviews"
  std::string where() const { return file + ": " + kind + " " + ns + "/" + name; }
};

// Errors name the file, object and field: "vs.yaml: VirtualService default/reviews:
// spec.http[0].route[1].weight: must be 0..100".
struct ManifestError {
  std::string message;
};

// Reads every manifest file directly in `dir` (not recursive), in name order; folder_source.h
// is the recursive, watched reader pilot uses.
std::vector<Object> loadManifests(const std::string& dir, std::vector<ManifestError>& errors);

// Parses manifests from text (one file's content), for tests and the loader.
void parseManifestText(const std::string& file, const std::string& text,
                       std::vector<Object>& objects, std::vector<ManifestError>& errors);

}  // namespace remora::pilot
