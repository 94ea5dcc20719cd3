#include "source/common/stats/process_stats.h"

#include <unistd.h>

#include <cstdio>
#include <limits>

namespace remora::stats {

std::optional<uint64_t> residentMemoryBytes() {
  // statm's second field is the resident set in pages; cheaper than parsing /proc/self/status.
  std::FILE* file = std::fopen("/proc/self/statm", "re");
  if (file == nullptr) return std::nullopt;
  unsigned long long size_pages = 0;
  unsigned long long resident_pages = 0;
  const int fields = std::fscanf(file, "%llu %llu", &size_pages, &resident_pages);
  std::fclose(file);
  const long page_size = sysconf(_SC_PAGESIZE);
  if (fields != 2 || page_size <= 0) return std::nullopt;
  return resident_pages * static_cast<uint64_t>(page_size);
}

void registerProcessStats(Store& store, int workers, std::chrono::steady_clock::time_point start) {
  store.callbackGauge(
      "remora_server_uptime_seconds", "Seconds since the server started.", {}, [start] {
        return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      });
  store.gauge("remora_server_workers", "Number of worker threads.", {}).set(workers);
  store.callbackGauge(
      "remora_process_resident_memory_bytes", "Resident memory size in bytes.", {}, [] {
        // NaN, not 0, when unknown: a zero would read as a real measurement.
        auto bytes = residentMemoryBytes();
        return bytes ? static_cast<double>(*bytes) : std::numeric_limits<double>::quiet_NaN();
      });
}

}  // namespace remora::stats
