#pragma once

// Mesh-wide request normalization (issue 14): pilot's --path-normalization and
// --path-with-escaped-slashes-action flags, set on every HTTP connection manager it generates.

#include <string>

#include "source/pilot/translator.h"

namespace remora::pilot {

// Handles `flag` if it is one of the two flags: true when it was (with `error` set when its
// value is not a name of HttpConnectionManager's enum), false for any other flag.
bool parseRequestNormalizationFlag(const std::string& flag, const std::string& value,
                                   TranslateOptions& options, std::string& error);

// "" when the two settings go together; else why not (KEEP_UNCHANGED contradicts
// DECODE_AND_MERGE_SLASHES, and every proxy would refuse the listeners).
std::string requestNormalizationConflict(const TranslateOptions& options);

// Sets the options' modes on the HTTP connection manager of every filter chain of every
// listener in `resources`, inbound and outbound alike. Applied to the finished listeners rather
// than where each chain is built, so that no HTTP chain, today's or a future one, can miss it.
// Nothing is changed when both options are "" (the proxy's defaults then apply).
void applyRequestNormalization(const TranslateOptions& options, Resources& resources);

}  // namespace remora::pilot
