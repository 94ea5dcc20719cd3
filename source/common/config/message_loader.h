#pragma once

// Config text (YAML or JSON) onto a protobuf message, strictly: unknown fields, wrong types and
// wrong shapes are errors, each naming the field path in the user's own spelling
// (`static_resources.clusters[1].connect_timeout: ...`).

#include <google/protobuf/message.h>

#include <string>
#include <string_view>

#include "source/interface/config/errors.h"

namespace remora::config {

// Parses `text` into `out` (cleared first). Adds errors and returns false on failure.
bool parseMessage(std::string_view text, google::protobuf::Message& out, Errors& errors);

// Turns a protobuf JSON-parser status message into "path: reason" (exposed for tests).
std::string describeJsonError(std::string_view status_message);

}  // namespace remora::config
