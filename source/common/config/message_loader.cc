#include "source/common/config/message_loader.h"

#include <google/protobuf/descriptor.h>
#include <google/protobuf/util/json_util.h>

#include <regex>

#include "source/common/config/yaml_to_json.h"

namespace remora::config {
namespace {

using google::protobuf::Descriptor;
using google::protobuf::DescriptorPool;
using google::protobuf::FieldDescriptor;

std::string joinPath(const std::string& path, const std::string& field) {
  return path.empty() ? field : path + "." + field;
}

const FieldDescriptor* findField(const Descriptor& message, const std::string& key) {
  const FieldDescriptor* field = message.FindFieldByName(key);
  if (field == nullptr) field = message.FindFieldByCamelcaseName(key);
  return field;
}

bool isWellKnown(const Descriptor& message) {
  return message.full_name().rfind("google.protobuf.", 0) == 0;
}

// Walks the YAML alongside the message schema (into Any through its "@type"), reporting with
// full paths what protobuf's parser would report without one (unknown fields inside an Any,
// at the top level) or not at all (a lone object where a list belongs).
void checkShapes(const YAML::Node& node, const Descriptor& message, const std::string& path,
                 bool in_any, Errors& errors) {
  if (!node.IsMap() || isWellKnown(message)) return;
  for (const auto& entry : node) {
    if (!entry.first.IsScalar()) continue;
    const std::string& key = entry.first.Scalar();
    if (in_any && key == "@type") continue;
    const FieldDescriptor* field = findField(message, key);
    if (field == nullptr) {
      errors.add(joinPath(path, key), "unknown field");
      continue;
    }
    std::string field_path = joinPath(path, field->name());
    const YAML::Node& value = entry.second;
    const Descriptor* element = field->message_type();
    if (field->is_map()) continue;
    if (field->is_repeated()) {
      if (!value.IsSequence() && !value.IsNull()) {
        errors.add(field_path, "must be a list");
        continue;
      }
      if (element == nullptr) continue;
      for (size_t i = 0; i < value.size(); ++i) {
        checkShapes(value[i], *element, field_path + "[" + std::to_string(i) + "]", false, errors);
      }
    } else if (value.IsSequence()) {
      errors.add(field_path, "must be a single value, not a list");
    } else if (element != nullptr && element->full_name() == "google.protobuf.Any") {
      if (!value.IsMap() || !value["@type"] || !value["@type"].IsScalar()) continue;
      std::string type = value["@type"].Scalar();
      type = type.substr(type.rfind('/') + 1);
      const Descriptor* inner = DescriptorPool::generated_pool()->FindMessageTypeByName(type);
      if (inner != nullptr) checkShapes(value, *inner, field_path, true, errors);
    } else if (element != nullptr) {
      checkShapes(value, *element, field_path, false, errors);
    }
  }
}

std::string describeType(const std::string& type) {
  static const std::pair<const char*, const char*> kScalars[] = {
      {"TYPE_STRING", "a string"},
      {"TYPE_BOOL", "true or false"},
      {"TYPE_UINT32", "a whole number from 0 to 4294967295"},
      {"TYPE_UINT64", "a whole number of 0 or more"},
      {"TYPE_INT32", "a whole number"},
      {"TYPE_INT64", "a whole number"},
      {"TYPE_DOUBLE", "a number"},
      {"TYPE_FLOAT", "a number"},
  };
  for (const auto& [name, text] : kScalars) {
    if (type == name) return text;
  }
  std::string name = type.substr(type.rfind('/') + 1);
  if (name == "google.protobuf.Duration") return "a duration such as \"5s\" or \"0.25s\"";
  const auto* pool = DescriptorPool::generated_pool();
  if (const auto* enum_type = pool->FindEnumTypeByName(name)) {
    std::string values;
    for (int i = 0; i < enum_type->value_count(); ++i) {
      values += (i ? ", " : "") + enum_type->value(i)->name();
    }
    return "one of " + values;
  }
  if (pool->FindMessageTypeByName(name) != nullptr) return "a mapping";
  return name;
}

}  // namespace

std::string describeJsonError(std::string_view status_message) {
  std::string text(status_message);
  if (text.rfind("INVALID_ARGUMENT:", 0) == 0) text = text.substr(17);
  static const std::regex kLocated(R"(^\(([^)]*)\)\s*(.*)$)");
  static const std::regex kUnknownField(R"(^(\S+): Cannot find field\.?$)");
  static const std::regex kUnknownAny(
      R"(^: invalid value Invalid type URL, unknown type: (\S+) for type Any$)");
  static const std::regex kBadDuration(R"(^: invalid value Field '[^']*', (.*) for type (\S+)$)");
  static const std::regex kBadValue(R"(^: invalid value (.*) for type (\S+)$)");
  std::smatch m;
  if (!std::regex_match(text, m, kLocated)) {
    if (std::regex_match(text, m, kUnknownField)) return std::string(m[1]) + ": unknown field";
    return text;
  }
  std::string path = m[1];
  std::string rest = m[2];
  if (std::regex_match(rest, m, kUnknownField)) return joinPath(path, m[1]) + ": unknown field";
  if (std::regex_match(rest, m, kUnknownAny)) {
    return path + ": unknown \"@type\" \"" + std::string(m[1]) +
           "\" (not a config type this build knows)";
  }
  if (std::regex_match(rest, m, kBadDuration)) {
    return path + ": " + std::string(m[1]) + "; expected " + describeType(m[2]);
  }
  if (std::regex_match(rest, m, kBadValue)) {
    return path + ": invalid value " + std::string(m[1]) + ", expected " + describeType(m[2]);
  }
  return path + ": " + (rest.rfind(": ", 0) == 0 ? rest.substr(2) : rest);
}

bool parseMessage(std::string_view text, google::protobuf::Message& out, Errors& errors) {
  out.Clear();
  YAML::Node document;
  std::string error;
  if (!parseYaml(text, document, error)) {
    errors.add("", error);
    return false;
  }
  if (!document.IsMap()) {
    errors.add("", document.IsNull() ? "the configuration is empty"
                                     : "the configuration must be a mapping of fields");
    return false;
  }
  std::string json;
  if (!yamlNodeToJson(document, json, error)) {
    errors.add("", error);
    return false;
  }
  size_t before = errors.lines().size();
  checkShapes(document, *out.GetDescriptor(), "", false, errors);
  if (errors.lines().size() != before) return false;
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = false;
  auto status = google::protobuf::util::JsonStringToMessage(json, &out, options);
  if (!status.ok()) {
    errors.add("", describeJsonError(status.ToString()));
    return false;
  }
  return true;
}

}  // namespace remora::config
