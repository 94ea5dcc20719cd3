#pragma once

// Helpers of the analyze goldens: the cases under testdata/, each copied to a scratch folder
// with one modification time for every file (so that of two duplicates the first path wins,
// whatever times the checkout gave the files), and its expected.txt.

#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

#include "gtest/gtest.h"

namespace remora::pilot::analyze::testing {

inline constexpr const char* kTestdata = "test/pilot/analyze/testdata";

inline std::string readFile(const std::string& path) {
  std::ifstream in(path);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

inline std::string expectedOf(const std::string& name) {
  return readFile(std::string(kTestdata) + "/" + name + "/expected.txt");
}

struct PilotRun {
  int status = -1;
  std::string out;
  std::string err;
};

// Runs the real remora-pilot with `args`, capturing its output in `scratch`.
inline PilotRun pilot(const std::string& args, const std::string& scratch) {
  std::string command =
      "source/pilot/remora-pilot " + args + " >" + scratch + "/stdout 2>" + scratch + "/stderr";
  int status = std::system(command.c_str());
  PilotRun run;
  if (WIFEXITED(status)) run.status = WEXITSTATUS(status);
  run.out = readFile(scratch + "/stdout");
  run.err = readFile(scratch + "/stderr");
  return run;
}

// A copy of case `name`'s manifests, removed at the end.
class CaseFolder {
 public:
  explicit CaseFolder(const std::string& name) {
    const char* base = std::getenv("TEST_TMPDIR");
    std::string pattern = std::string(base ? base : "/tmp") + "/analyze.XXXXXX";
    root_ = ::mkdtemp(pattern.data()) ? pattern : "";
    EXPECT_FALSE(root_.empty());
    path_ = root_ + "/" + name;
    std::filesystem::create_directories(path_);
    for (const auto& entry :
         std::filesystem::directory_iterator(std::string(kTestdata) + "/" + name)) {
      const std::string file = entry.path().filename().string();
      if (file == "expected.txt") continue;
      const std::string target = path_ + "/" + file;
      std::filesystem::copy_file(entry.path(), target);
      timespec times[2] = {{1700000000, 0}, {1700000000, 0}};
      EXPECT_EQ(::utimensat(AT_FDCWD, target.c_str(), times, 0), 0);
    }
  }
  ~CaseFolder() {
    std::error_code ignored;
    std::filesystem::remove_all(root_, ignored);
  }
  const std::string& path() const { return path_; }
  const std::string& root() const { return root_; }

 private:
  std::string root_;
  std::string path_;
};

// Every case, and whether analyze finds errors in it (exit 1) or not (exit 0).
struct Case {
  const char* name;
  bool errors;
};
inline constexpr Case kCases[] = {
    {"clean_mesh", false},
    {"vs_unknown_host", true},
    {"vs_unknown_port", true},
    {"vs_unknown_subset", true},
    {"dr_subset_no_pods", false},
    {"no_matching_service", false},
    {"selector_no_workloads", false},
    {"schema_errors", true},
    {"duplicates", false},
    {"unsupported_kind", false},
    {"unreadable_file", true},
};

}  // namespace remora::pilot::analyze::testing
