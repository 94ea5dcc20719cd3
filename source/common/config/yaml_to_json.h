#pragma once

// YAML (or JSON, which is YAML) to JSON text, for protobuf's JSON parser. Scalars are typed by
// the YAML 1.2 core schema: quoted scalars are strings; plain `null`/`~`/empty, booleans,
// integers and floats become JSON null, booleans and numbers; anything else is a string.

#include <yaml-cpp/yaml.h>

#include <string>
#include <string_view>

namespace remora::config {

// Parses exactly one YAML document into `document` (Null for empty input). On failure returns
// false and sets `error` with the line and column.
bool parseYaml(std::string_view yaml, YAML::Node& document, std::string& error);

// Converts a parsed YAML node to JSON text (see yamlToJson for errors).
bool yamlNodeToJson(const YAML::Node& node, std::string& json_out, std::string& error);

// Parses and converts one YAML document. On failure returns false and sets `error`, e.g.
// "line 3, column 5: duplicate key \"name\"" (lines and columns count from 1).
bool yamlToJson(std::string_view yaml, std::string& json_out, std::string& error);

}  // namespace remora::config
