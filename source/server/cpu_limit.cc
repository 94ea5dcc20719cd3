#include "source/server/cpu_limit.h"

#include <sched.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string_view>
#include <thread>

namespace remora::server {
namespace {

// The first line of a small cgroup file, or nullopt if it cannot be opened.
std::optional<std::string> readFirstLine(const std::string& path) {
  std::ifstream file(path);
  std::string line;
  if (!file || !std::getline(file, line)) return std::nullopt;
  return line;
}

std::optional<int64_t> parseInt(std::string_view text) {
  int64_t value = 0;
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (text.empty() || ec != std::errc() || ptr != end) return std::nullopt;
  return value;
}

std::optional<double> ratio(std::optional<int64_t> quota, std::optional<int64_t> period) {
  if (!quota || !period || *quota <= 0 || *period <= 0) return std::nullopt;
  return static_cast<double>(*quota) / static_cast<double>(*period);
}

// cgroup v2 cpu.max: "<quota|max> <period>".
std::optional<double> readCpuMax(const std::string& dir) {
  auto line = readFirstLine(dir + "/cpu.max");
  if (!line) return std::nullopt;
  std::istringstream fields(*line);
  std::string quota, period;
  fields >> quota >> period;
  if (quota == "max") return std::nullopt;
  return ratio(parseInt(quota), parseInt(period));
}

// cgroup v1: cpu.cfs_quota_us is -1 when unlimited.
std::optional<double> readCfsQuota(const std::string& dir) {
  auto quota = readFirstLine(dir + "/cpu.cfs_quota_us");
  auto period = readFirstLine(dir + "/cpu.cfs_period_us");
  if (!quota || !period) return std::nullopt;
  return ratio(parseInt(*quota), parseInt(*period));
}

// Smallest limit found in `base + path` and each ancestor of `path` up to `base` itself.
template <typename ReadLimit>
std::optional<double> smallestOnPath(const std::string& base, std::string path,
                                     ReadLimit read_limit) {
  std::optional<double> smallest;
  while (true) {
    while (path.size() > 1 && path.back() == '/') path.pop_back();
    if (path == "/") path.clear();
    if (auto limit = read_limit(base + path); limit && (!smallest || *limit < *smallest)) {
      smallest = limit;
    }
    if (path.empty()) return smallest;
    path.erase(path.rfind('/'));
  }
}

bool listsCpuController(std::string_view controllers) {
  while (!controllers.empty()) {
    size_t comma = controllers.find(',');
    if (controllers.substr(0, comma) == "cpu") return true;
    if (comma == std::string_view::npos) break;
    controllers.remove_prefix(comma + 1);
  }
  return false;
}

}  // namespace

std::optional<double> cgroupCpuLimit(const std::string& cgroup_root,
                                     const std::string& proc_self_cgroup_path) {
  std::ifstream file(proc_self_cgroup_path);
  std::optional<std::string> v2_path;
  std::string line;
  // Lines are "hierarchy-id:controllers:path". A v1 "cpu" hierarchy wins over the v2 entry:
  // on hybrid hosts the cpu controller is attached to v1 and v2's cpu.max does not exist.
  while (std::getline(file, line)) {
    size_t first = line.find(':');
    size_t second = first == std::string::npos ? first : line.find(':', first + 1);
    if (second == std::string::npos) continue;
    std::string_view hierarchy = std::string_view(line).substr(0, first);
    std::string_view controllers = std::string_view(line).substr(first + 1, second - first - 1);
    std::string path = line.substr(second + 1);
    if (path.empty() || path[0] != '/') continue;
    // A cgroup outside our cgroup namespace shows as "/../x"; only the root is visible then.
    if (path.find("/..") != std::string::npos) path = "/";
    if (hierarchy == "0" && controllers.empty()) {
      v2_path = path;
    } else if (listsCpuController(controllers)) {
      // Mounted under its controller list ("cpu,cpuacct"), which distros also link as "cpu".
      std::string base = cgroup_root + "/" + std::string(controllers);
      std::error_code ignored;
      if (!std::filesystem::is_directory(base, ignored)) base = cgroup_root + "/cpu";
      return smallestOnPath(base, path, readCfsQuota);
    }
  }
  if (v2_path) return smallestOnPath(cgroup_root, *v2_path, readCpuMax);
  return std::nullopt;
}

uint32_t concurrencyFor(std::optional<double> cpu_limit, uint32_t usable_cores) {
  uint32_t cores = std::max<uint32_t>(usable_cores, 1);
  if (!cpu_limit || !(*cpu_limit > 0)) return cores;
  // The epsilon keeps 200000/100000 computed as 2.0000000001 from becoming 3.
  double rounded = std::ceil(*cpu_limit - 1e-9);
  if (rounded >= cores) return cores;
  return std::max<uint32_t>(static_cast<uint32_t>(rounded), 1);
}

uint32_t usableCores() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof(set), &set) == 0) {
    int count = CPU_COUNT(&set);
    if (count > 0) return static_cast<uint32_t>(count);
  }
  // More CPUs than a cpu_set_t holds, or no affinity support: ask the library instead.
  return std::max(std::thread::hardware_concurrency(), 1u);
}

uint32_t defaultConcurrency() {
  return concurrencyFor(cgroupCpuLimit("/sys/fs/cgroup", "/proc/self/cgroup"), usableCores());
}

}  // namespace remora::server
