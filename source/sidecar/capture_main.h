#pragma once

// `remora iptables`: installs or removes the capture rules (capture_rules.h) by running
// iptables and ip6tables, or prints the commands with --dry-run.

#include <ostream>
#include <string>
#include <vector>

namespace remora::sidecar {

// `args` are the words after "iptables". Returns the process exit code: 0 done, 1 an iptables
// command failed (its output is in `err`), 2 bad arguments.
int runCaptureCommand(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);

}  // namespace remora::sidecar
