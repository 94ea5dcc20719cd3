#pragma once

// Runs the real `remora` binary as a child process on a generated config, with the admin
// bound to port 0 and its address read back through --admin-address-path.

#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "test/integration/test_net.h"

namespace remora::test {

// Path of the proxy binary in the test's runfiles.
std::string remoraBinary();
// A fresh, empty directory under TEST_TMPDIR.
std::string makeTempDir();
void writeFile(const std::string& path, const std::string& content);

// Result of running a command to completion.
struct CommandResult {
  int exit_code = -1;
  std::string output;  // stdout and stderr together
};
CommandResult runCommand(const std::vector<std::string>& argv);

class ProxyProcess {
 public:
  ProxyProcess() = default;
  ~ProxyProcess();

  // Starts remora with `config_yaml` (the admin address in it should be 127.0.0.1:0) and
  // waits until the admin server is up and (with `wait_ready`) /ready says LIVE. False (with
  // `error`) on failure.
  bool start(const std::string& config_yaml, std::vector<std::string> extra_args,
             std::string& error, bool wait_ready = true);

  // Starts the next process with this descriptor limit (soft and hard RLIMIT_NOFILE).
  void setDescriptorLimit(uint64_t limit) { descriptor_limit_ = limit; }

  pid_t pid() const { return pid_; }
  // User plus system CPU time the process has used, from /proc/<pid>/stat.
  std::chrono::milliseconds cpuTime() const;
  const std::string& adminAddress() const { return admin_address_; }
  // The port a listener is bound to, from /listeners.
  uint16_t listenerPort(const std::string& name);

  HttpResponse admin(const std::string& method, const std::string& path) const {
    return httpRequest(admin_address_, method, path);
  }
  // The value of one metric sample from /stats/prometheus, e.g.
  // metric("remora_cluster_upstream_connect_failures_total{cluster=\"dead\"}").
  std::optional<double> metric(const std::string& sample) const;
  // Resident set size in bytes from /proc/<pid>/status.
  uint64_t residentBytes() const;

  void signal(int sig) const;
  // Waits for the process to exit; returns its exit code (or 128+signal), nullopt on timeout.
  std::optional<int> waitExit(std::chrono::milliseconds timeout);
  // The process's stderr so far (its log).
  std::string log() const;

 private:
  pid_t pid_ = -1;
  uint64_t descriptor_limit_ = 0;
  bool exited_ = false;
  std::string dir_;
  std::string admin_address_;
};

}  // namespace remora::test
