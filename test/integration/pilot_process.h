#pragma once

// Runs the real `remora-pilot` binary as a child process, its output (the log) in a file.

#include <sys/types.h>

#include <string>
#include <vector>

namespace remora::test {

class PilotProcess {
 public:
  PilotProcess() = default;
  ~PilotProcess() { stop(); }
  PilotProcess(const PilotProcess&) = delete;
  PilotProcess& operator=(const PilotProcess&) = delete;

  // Starts source/pilot/remora-pilot (from the test's runfiles) with `args`, appending its
  // output to `log_path`. Returns at once; wait on its log or monitoring port.
  void start(const std::vector<std::string>& args, const std::string& log_path);
  // SIGTERM, then waits for it. Idempotent.
  void stop();
  std::string log() const;
  pid_t pid() const { return pid_; }

 private:
  pid_t pid_ = -1;
  std::string log_path_;
};

}  // namespace remora::test
