#pragma once

// Process-level metrics every Remora binary exports: uptime, worker count, resident memory.

#include <chrono>
#include <cstdint>
#include <optional>

#include "source/interface/stats/stats.h"

namespace remora::stats {

// Registers, once per process, on the main thread at startup:
//   remora_server_uptime_seconds          gauge, seconds since `start` (computed at scrape time)
//   remora_server_workers                 gauge, `workers`
//   remora_process_resident_memory_bytes  gauge, resident set size (computed at scrape time)
// The callbacks capture only `start`, so they stay valid for as long as `store` lives.
void registerProcessStats(Store& store, int workers, std::chrono::steady_clock::time_point start);

// Resident set size of this process from /proc/self/statm; nullopt if it cannot be read.
std::optional<uint64_t> residentMemoryBytes();

}  // namespace remora::stats
