#pragma once

// Semantic checks of a parsed bootstrap: addresses, ports, names, durations, weights. Every
// problem is reported (not just the first), each with its field path and reason. Filter
// configs are checked by their factories when the config snapshot is built.

#include "remora/config/bootstrap/v1/bootstrap.pb.h"
#include "source/interface/config/errors.h"

namespace remora::config {

void validateBootstrap(const bootstrap::v1::Bootstrap& bootstrap, Errors& errors);
// The checks of one cluster, wherever it came from (static config, a file, the control
// plane); errors are reported under `path`.
void validateCluster(const cluster::v1::Cluster& cluster, const std::string& path, Errors& errors);
// A discovered ClusterLoadAssignment (EDS).
void validateEndpoints(const endpoint::v1::ClusterLoadAssignment& assignment,
                       const std::string& path, Errors& errors);
// A listener's fields (its filters are checked when it is built).
void validateListener(const listener::v1::Listener& listener, const std::string& path,
                      Errors& errors);

}  // namespace remora::config
