#include "source/pilot/folder_source.h"

#include "source/pilot/manifest_salvage.h"

#include <dirent.h>
#include <poll.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

namespace remora::pilot {
namespace {

// Deeper than any real layout; stops a symlink loop.
constexpr int kMaxDepth = 16;
constexpr auto kRetryUnreadable = std::chrono::seconds(1);

bool endsWith(const std::string& text, const std::string& suffix) {
  return text.size() > suffix.size() &&
         text.compare(text.size() - suffix.size(), suffix.size(), suffix) == 0;
}

std::string join(const std::string& folder, const std::string& name) {
  return folder.empty() ? name : folder + "/" + name;
}

ConfigIssue fileIssue(const std::string& file, std::string reason, std::string message) {
  ConfigIssue issue;
  issue.file = file;
  issue.reason = std::move(reason);
  issue.message = std::move(message);
  return issue;
}

}  // namespace

bool FolderSource::isManifestName(const std::string& name) {
  if (name.empty() || name[0] == '.' || name[0] == '#' || name.back() == '~') return false;
  if (endsWith(name, ".swp") || endsWith(name, ".tmp")) return false;
  return endsWith(name, ".yaml") || endsWith(name, ".yml") || endsWith(name, ".json");
}

std::unique_ptr<FolderSource> FolderSource::open(const std::string& dir, std::string& error) {
  struct stat info {};
  if (::stat(dir.c_str(), &info) != 0) {
    error = errno == ENOENT ? "folder \"" + dir + "\" does not exist"
                            : "folder \"" + dir + "\" cannot be read: " + std::strerror(errno);
    return nullptr;
  }
  if (!S_ISDIR(info.st_mode)) {
    error = "\"" + dir + "\" is not a folder";
    return nullptr;
  }
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) {
    error = "folder \"" + dir + "\" cannot be read: " + std::strerror(errno);
    return nullptr;
  }
  ::closedir(d);
  return std::unique_ptr<FolderSource>(new FolderSource(dir));
}

FolderSource::FolderSource(std::string dir) : dir_(std::move(dir)) {
  inotify_ = ::inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
}

FolderSource::~FolderSource() {
  if (inotify_ >= 0) ::close(inotify_);
}

void FolderSource::watch(const std::string& folder) {
  if (inotify_ < 0) return;
  // Adding a watch twice returns the same one; a folder removed and created again gets a new
  // one here on the next snapshot.
  ::inotify_add_watch(inotify_, folder.c_str(),
                      IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM | IN_DELETE | IN_CREATE |
                          IN_DELETE_SELF | IN_MOVE_SELF | IN_ATTRIB);
}

bool FolderSource::list(const std::string& relative, int depth, std::vector<std::string>& files,
                        std::vector<std::string>& folders, std::string& error) const {
  std::string absolute = relative.empty() ? dir_ : dir_ + "/" + relative;
  DIR* d = ::opendir(absolute.c_str());
  if (d == nullptr) {
    error = "folder \"" + absolute + "\" cannot be read: " + std::strerror(errno);
    return false;
  }
  folders.push_back(absolute);
  std::vector<std::string> names;
  while (dirent* entry = ::readdir(d)) names.emplace_back(entry->d_name);
  ::closedir(d);
  std::sort(names.begin(), names.end());
  for (const auto& name : names) {
    if (name[0] == '.') continue;  // ., .., hidden files, a ConfigMap's ..data
    std::string path = join(relative, name);
    struct stat info {};
    if (::stat((dir_ + "/" + path).c_str(), &info) != 0) continue;  // a dangling link
    if (S_ISDIR(info.st_mode)) {
      if (depth < kMaxDepth && !list(path, depth + 1, files, folders, error)) return false;
    } else if (S_ISREG(info.st_mode) && isManifestName(name)) {
      files.push_back(path);
    }
  }
  return true;
}

SourceSnapshot FolderSource::snapshot() {
  last_read_ = std::chrono::steady_clock::now();
  SourceSnapshot out;
  std::vector<std::string> files;
  std::vector<std::string> folders;
  std::string error;
  if (!list("", 0, files, folders, error)) {
    // Removed, unmounted, permissions changed: serving nothing would push an empty mesh.
    healthy_ = false;
    out.issues.push_back(fileIssue(dir_, "source_unavailable",
                                   error + "; the last good configuration stays in force"));
    for (const auto& [file, state] : files_) {
      out.objects.insert(out.objects.end(), state.objects.begin(), state.objects.end());
    }
    return out;
  }
  healthy_ = true;
  for (const auto& folder : folders) watch(folder);
  std::map<std::string, FileState> next;
  for (const auto& file : files) {
    std::string path = dir_ + "/" + file;
    struct stat info {};
    std::ifstream in(path);
    if (::stat(path.c_str(), &info) != 0 || !in) {
      out.issues.push_back(fileIssue(file, "source_unavailable", "cannot be read"));
      if (auto old = files_.find(file); old != files_.end()) next[file] = old->second;
      continue;
    }
    std::stringstream text;
    text << in.rdbuf();
    int64_t mtime = static_cast<int64_t>(info.st_mtim.tv_sec) * 1000000000 + info.st_mtim.tv_nsec;
    try {
      YAML::LoadAll(text.str());
    } catch (const YAML::Exception& e) {
      auto old = files_.find(file);
      bool kept = old != files_.end();
      out.issues.push_back(fileIssue(
          file, "parse_error",
          std::string("not valid YAML: ") + e.what() +
              (kept ? "; the objects of its last good version stay in force"
                    : "; no earlier version was read: its documents are read one by one")));
      if (kept) {
        next[file] = old->second;
      } else {
        std::vector<ManifestError> errors;
        std::vector<Object> salvaged;
        salvageManifests(file, text.str(), salvaged, errors);
        for (auto& object : salvaged) object.file_mtime_ns = mtime;
        for (const auto& error : errors)
          out.issues.push_back(fileIssue(file, "parse_error", error.message));
        out.objects.insert(out.objects.end(), salvaged.begin(), salvaged.end());
      }
      continue;
    }
    FileState state;
    state.mtime_ns = mtime;
    std::vector<ManifestError> errors;
    parseManifestText(file, text.str(), state.objects, errors);
    for (auto& object : state.objects) object.file_mtime_ns = mtime;
    for (const auto& e : errors) {
      // "<file>: document 2: kind: required"
      std::string message =
          e.message.rfind(file + ": ", 0) == 0 ? e.message.substr(file.size() + 2) : e.message;
      out.issues.push_back(fileIssue(file, "invalid", message));
    }
    next[file] = std::move(state);
  }
  files_ = std::move(next);
  for (const auto& [file, state] : files_) {
    out.objects.insert(out.objects.end(), state.objects.begin(), state.objects.end());
  }
  return out;
}

bool FolderSource::waitForChange(std::chrono::milliseconds timeout) {
  pollfd p{inotify_, POLLIN, 0};
  int ready = ::poll(&p, inotify_ >= 0 ? 1 : 0, static_cast<int>(timeout.count()));
  bool changed = false;
  if (ready > 0) {
    char buffer[4096];
    while (::read(inotify_, buffer, sizeof(buffer)) > 0) {
    }
    changed = true;
  }
  // An unreadable folder sends no events once its watch is gone: retry it.
  if (!healthy_ && std::chrono::steady_clock::now() - last_read_ >= kRetryUnreadable) {
    changed = true;
  }
  return changed;
}

}  // namespace remora::pilot
