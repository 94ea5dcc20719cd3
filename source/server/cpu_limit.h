#pragma once

// How many worker threads to run when --concurrency is not given. A sidecar should size
// itself by the CPU its container may use, not by the host's cores: a pod limited to 1.5
// CPUs on a 64-core node wants 2 workers, not 64.

#include <cstdint>
#include <optional>
#include <string>

namespace remora::server {

// The CPU limit, in CPUs, that the kernel's CFS bandwidth control imposes on this process,
// or nullopt if there is none (or it cannot be read).
//
// `proc_self_cgroup_path` is a file in the format of /proc/self/cgroup; `cgroup_root` is
// where the cgroup file systems are mounted (/sys/fs/cgroup). If the file names a cgroup v1
// hierarchy holding the "cpu" controller, the limit is cpu.cfs_quota_us / cpu.cfs_period_us
// under <root>/<controllers>/<path> (quota -1 = none). Otherwise the cgroup v2 entry
// "0::<path>" is used and the limit is read from cpu.max ("max 100000" = none,
// "150000 100000" = 1.5). The cgroup and each of its ancestors up to the root are checked
// and the smallest limit wins, because a parent's limit (a Kubernetes pod's) also caps the
// child; a missing directory (a container that sees only its own cgroup at the root) is
// skipped. Reads only the given files; safe from any thread.
std::optional<double> cgroupCpuLimit(const std::string& cgroup_root,
                                     const std::string& proc_self_cgroup_path);

// Worker count for a CPU limit and a number of usable cores: the limit rounded up
// (1.5 -> 2, 0.2 -> 1), never more than the usable cores, and at least 1.
uint32_t concurrencyFor(std::optional<double> cpu_limit, uint32_t usable_cores);

// Cores this thread may run on (sched_getaffinity), at least 1.
uint32_t usableCores();

// concurrencyFor(cgroupCpuLimit("/sys/fs/cgroup", "/proc/self/cgroup"), usableCores()).
uint32_t defaultConcurrency();

}  // namespace remora::server
