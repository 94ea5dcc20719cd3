#pragma once

// A yaml-cpp node as a CompactDocument: scalars keep their text as yaml-cpp read it (quoted or
// plain alike, as yaml-cpp's own conversions see them), null stays null, maps keep their
// entries in document order (duplicate keys included, as yaml-cpp does).

#include <yaml-cpp/yaml.h>

#include "source/pilot/document/compact_document.h"

namespace remora::pilot {

// An undefined node gives a document whose root is null.
CompactDocumentPtr documentFromYaml(const YAML::Node& node);

}  // namespace remora::pilot
