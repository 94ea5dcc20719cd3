#pragma once

// Loading the bootstrap file given to `remora -c` (or inline with --config-yaml).

#include <string>
#include <string_view>

#include "remora/config/bootstrap/v1/bootstrap.pb.h"
#include "source/interface/config/errors.h"

namespace remora::config {

// Parses YAML or JSON text into `out`. Adds errors and returns false on failure. Only the
// schema is checked here; validateBootstrap() checks meaning.
bool parseBootstrap(std::string_view text, bootstrap::v1::Bootstrap& out, Errors& errors);

// Reads `path` then parseBootstrap; an unreadable file is "<path>: cannot read: <reason>".
bool loadBootstrapFile(const std::string& path, bootstrap::v1::Bootstrap& out, Errors& errors);

}  // namespace remora::config
