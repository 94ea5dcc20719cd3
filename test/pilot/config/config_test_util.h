#pragma once

// Helpers of pilot's config tests: a scratch manifest folder, and translations compared whole.

#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include "gtest/gtest.h"
#include "source/pilot/translator.h"

namespace remora::pilot::testing {

// A fresh folder under the test's temporary directory, removed at the end.
class ScratchFolder {
 public:
  ScratchFolder() {
    const char* base = std::getenv("TEST_TMPDIR");
    std::string pattern = std::string(base ? base : "/tmp") + "/manifests.XXXXXX";
    path_ = ::mkdtemp(pattern.data()) ? pattern : "";
    EXPECT_FALSE(path_.empty());
  }
  ~ScratchFolder() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  const std::string& path() const { return path_; }

  // Writes `relative` (creating its folders) with `text`; `mtime_seconds` (when not 0) as its
  // modification time.
  void write(const std::string& relative, const std::string& text, time_t mtime_seconds = 0) {
    std::string full = path_ + "/" + relative;
    std::filesystem::create_directories(std::filesystem::path(full).parent_path());
    {
      std::ofstream out(full, std::ios::trunc);
      out << text;
    }
    if (mtime_seconds != 0) {
      timespec times[2] = {{mtime_seconds, 0}, {mtime_seconds, 0}};
      EXPECT_EQ(::utimensat(AT_FDCWD, full.c_str(), times, 0), 0);
    }
  }
  void remove(const std::string& relative) { std::filesystem::remove_all(path_ + "/" + relative); }

 private:
  std::string path_;
};

// Every resource a pod's proxy gets, as text: two translations are the same configuration when
// these are equal.
inline std::string dump(const Translator& translator, const std::string& ns,
                        const std::string& pod) {
  Resources resources = translator.translate(ns, pod);
  std::string out;
  for (const auto* group :
       {&resources.clusters, &resources.endpoints, &resources.routes, &resources.listeners}) {
    for (const auto& [name, any] : *group) out += name + "\n" + any.DebugString() + "\n";
  }
  return out;
}

}  // namespace remora::pilot::testing
