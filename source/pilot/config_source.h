#pragma once

// Where pilot's objects come from: the current set of objects, each with where it came from,
// and a way to wait for a change. The folder of manifests (folder_source.h) is one source; the
// Kubernetes API server is another. Whatever the source, the objects then go through the same
// checks (config_guard.h) and translator.

#include <chrono>
#include <string>
#include <vector>

#include "source/pilot/config_issues.h"
#include "source/pilot/manifests.h"

namespace remora::pilot {

struct SourceSnapshot {
  // Every object the source holds now. A part of the source that cannot be read right now (a
  // file that no longer parses, a folder gone) contributes its last good objects.
  std::vector<Object> objects;
  // The source's own problems (files, folders, documents without kind or name).
  std::vector<ConfigIssue> issues;
};

class ConfigSource {
 public:
  virtual ~ConfigSource() = default;
  // "folder /etc/manifests"
  virtual std::string describe() const = 0;
  // Reads the current state. Called from one thread (pilot's main loop).
  virtual SourceSnapshot snapshot() = 0;
  // Waits up to `timeout`; true when something may have changed since the last snapshot()
  // (the caller debounces and takes a new snapshot).
  virtual bool waitForChange(std::chrono::milliseconds timeout) = 0;
  // The source holds a complete view: until then a snapshot may be a partial mesh, and pilot
  // neither pushes it nor reports ready. A folder is complete once opened; the Kubernetes API
  // server after the first complete list of every kind. Any thread.
  virtual bool synced() const { return true; }
};

}  // namespace remora::pilot
