#pragma once

// The folder of manifests as a config source: every *.yaml, *.yml and *.json file under the
// folder and its subfolders (symlinks followed, as in a ConfigMap mount), in path order; hidden
// files and folders and editor temp files (`x~`, `#x#`, `.#x`, `*.swp`, `*.tmp`) skipped.
// Watched with inotify (subfolders too) for the main loop's debounced reload.
//
// Last good: a file that no longer parses keeps the objects of its last good version (and is
// reported); a folder that cannot be read any more (removed, unmounted) keeps everything last
// read (reported, retried every second).

#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "source/pilot/config_source.h"

namespace remora::pilot {

class FolderSource : public ConfigSource {
 public:
  // Nullptr with `error` ("folder \"x\" does not exist") when `dir` is not a readable folder.
  static std::unique_ptr<FolderSource> open(const std::string& dir, std::string& error);
  ~FolderSource() override;

  std::string describe() const override { return "folder " + dir_; }
  SourceSnapshot snapshot() override;
  bool waitForChange(std::chrono::milliseconds timeout) override;

  // Whether a file name is read as a manifest (not hidden, not an editor's temp file, and
  // .yaml, .yml or .json).
  static bool isManifestName(const std::string& name);

 private:
  explicit FolderSource(std::string dir);
  struct FileState {
    int64_t mtime_ns = 0;
    std::vector<Object> objects;  // of the last version that parsed
  };
  // Lists the manifest files (relative paths) and subfolders; false when a folder cannot be
  // read (named in `error`).
  bool list(const std::string& relative, int depth, std::vector<std::string>& files,
            std::vector<std::string>& folders, std::string& error) const;
  void watch(const std::string& folder);

  std::string dir_;
  int inotify_ = -1;
  std::map<std::string, FileState> files_;
  bool healthy_ = true;
  std::chrono::steady_clock::time_point last_read_;
};

}  // namespace remora::pilot
