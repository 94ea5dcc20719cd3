#pragma once

// `remora wait-ready`: blocks until the local proxy's readiness endpoint answers 200, for a
// postStart hook, so the application container starts only once its proxy has config.
//
//   remora wait-ready [--address 127.0.0.1:15021] [--path /healthz/ready] [--timeout-s 60]
//                     [--interval-ms 200]

#include <ostream>
#include <string>
#include <vector>

namespace remora::sidecar {

// `args` are the words after "wait-ready". Returns the exit code: 0 ready, 1 not ready in
// time (the last answer or error is in `err`), 2 bad arguments.
int runWaitReadyCommand(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);

// One probe: the HTTP status of GET `path` at `ip`:`port`, or 0 (with `error` set) when no
// answer came within `timeout_ms`.
int probeStatus(const std::string& ip, uint16_t port, const std::string& path, int timeout_ms,
                std::string& error);

}  // namespace remora::sidecar
