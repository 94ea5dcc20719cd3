#include "source/common/config/yaml_to_json.h"

#include <yaml-cpp/yaml.h>

#include <cmath>
#include <cstdio>
#include <regex>
#include <set>

#include "source/common/common/json_string.h"

namespace remora::config {
namespace {

std::string position(const YAML::Mark& mark) {
  return "line " + std::to_string(mark.line + 1) + ", column " + std::to_string(mark.column + 1);
}

// A plain (unquoted) scalar, typed by the YAML 1.2 core schema.
void appendPlainScalar(const std::string& text, std::string& out) {
  static const std::set<std::string> kNull = {"", "~", "null", "Null", "NULL"};
  static const std::set<std::string> kTrue = {"true", "True", "TRUE"};
  static const std::set<std::string> kFalse = {"false", "False", "FALSE"};
  static const std::regex kDecimal("[-+]?[0-9]+");
  static const std::regex kOctal("0o[0-7]+");
  static const std::regex kHex("0x[0-9a-fA-F]+");
  static const std::regex kFloat("[-+]?(\\.[0-9]+|[0-9]+(\\.[0-9]*)?)([eE][-+]?[0-9]+)?");
  if (kNull.count(text)) {
    out += "null";
  } else if (kTrue.count(text)) {
    out += "true";
  } else if (kFalse.count(text)) {
    out += "false";
  } else if (std::regex_match(text, kDecimal)) {
    // JSON forbids a leading '+' and leading zeros; the value is what YAML means.
    size_t start = text[0] == '+' || text[0] == '-' ? 1 : 0;
    size_t digits = text.find_first_not_of('0', start);
    std::string magnitude = digits == std::string::npos ? "0" : text.substr(digits);
    out += (text[0] == '-' && magnitude != "0" ? "-" : "") + magnitude;
  } else if (std::regex_match(text, kOctal)) {
    out += std::to_string(std::stoull(text.substr(2), nullptr, 8));
  } else if (std::regex_match(text, kHex)) {
    out += std::to_string(std::stoull(text.substr(2), nullptr, 16));
  } else if (std::regex_match(text, kFloat)) {
    char number[64];
    std::snprintf(number, sizeof(number), "%.17g", std::strtod(text.c_str(), nullptr));
    out += number;
  } else if (text == ".inf" || text == "+.inf" || text == ".Inf" || text == ".INF") {
    out += "\"Infinity\"";
  } else if (text == "-.inf" || text == "-.Inf" || text == "-.INF") {
    out += "\"-Infinity\"";
  } else if (text == ".nan" || text == ".NaN" || text == ".NAN") {
    out += "\"NaN\"";
  } else {
    json::appendString(text, out);
  }
}

bool convert(const YAML::Node& node, std::string& out, std::string& error) {
  switch (node.Type()) {
    case YAML::NodeType::Undefined:
    case YAML::NodeType::Null:
      out += "null";
      return true;
    case YAML::NodeType::Scalar:
      // yaml-cpp tags plain scalars "?" and quoted ones "!".
      if (node.Tag() == "?") {
        appendPlainScalar(node.Scalar(), out);
      } else {
        json::appendString(node.Scalar(), out);
      }
      return true;
    case YAML::NodeType::Sequence: {
      out += '[';
      bool first = true;
      for (const auto& item : node) {
        if (!first) out += ',';
        first = false;
        if (!convert(item, out, error)) return false;
      }
      out += ']';
      return true;
    }
    case YAML::NodeType::Map: {
      out += '{';
      std::set<std::string> seen;
      bool first = true;
      for (const auto& entry : node) {
        if (!entry.first.IsScalar()) {
          error = position(entry.first.Mark()) + ": mapping keys must be plain strings";
          return false;
        }
        const std::string& key = entry.first.Scalar();
        if (!seen.insert(key).second) {
          error = position(entry.first.Mark()) + ": duplicate key \"" + key + "\"";
          return false;
        }
        if (!first) out += ',';
        first = false;
        json::appendString(key, out);
        out += ':';
        if (!convert(entry.second, out, error)) return false;
      }
      out += '}';
      return true;
    }
  }
  return false;
}

}  // namespace

bool parseYaml(std::string_view yaml, YAML::Node& document, std::string& error) {
  std::vector<YAML::Node> documents;
  try {
    documents = YAML::LoadAll(std::string(yaml));
  } catch (const YAML::Exception& e) {
    error = position(e.mark) + ": " + e.msg;
    return false;
  }
  if (documents.size() > 1) {
    error = "expected one YAML document, found " + std::to_string(documents.size());
    return false;
  }
  document = documents.empty() ? YAML::Node(YAML::NodeType::Null) : documents[0];
  return true;
}

bool yamlNodeToJson(const YAML::Node& node, std::string& json_out, std::string& error) {
  json_out.clear();
  return convert(node, json_out, error);
}

bool yamlToJson(std::string_view yaml, std::string& json_out, std::string& error) {
  YAML::Node document;
  return parseYaml(yaml, document, error) && yamlNodeToJson(document, json_out, error);
}

}  // namespace remora::config
