#pragma once

// API objects as the compact documents pilot keeps (document/compact_document.h): what
// yaml-cpp would have read from the same JSON text. Strings, numbers (their source text) and
// booleans ("true" / "false") become scalars; members whose value is null are left out (null
// is the API server's "unset"), null array elements stay null.

#include <string_view>

#include "source/pilot/document/compact_document.h"
#include "source/pilot/kubernetes/json_value.h"

namespace remora::pilot::kubernetes {

CompactDocumentPtr documentFromJson(const JsonValue& value);

// An object of a kind's list or watch: as documentFromJson, with `kind` set (list items carry
// none) and `api_version` used when the object has no apiVersion of its own (or an empty one).
CompactDocumentPtr documentFromApiObject(const JsonValue& object, std::string_view kind,
                                         std::string_view api_version);

}  // namespace remora::pilot::kubernetes
