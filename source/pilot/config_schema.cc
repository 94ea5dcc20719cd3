#include "source/pilot/config_schema.h"

#include <algorithm>
#include <cstdlib>
#include <utility>

#include "source/pilot/config_schema_types.h"

namespace remora::pilot::schema {
namespace {

FieldPtr make(Field::Type type) {
  auto field = std::make_shared<Field>();
  field->type = type;
  return field;
}

bool isInteger(const std::string& text) {
  if (text.empty()) return false;
  char* end = nullptr;
  std::strtoll(text.c_str(), &end, 10);
  return *end == '\0';
}

bool isNumber(const std::string& text) {
  if (text.empty()) return false;
  char* end = nullptr;
  std::strtod(text.c_str(), &end);
  return *end == '\0';
}

std::string join(const std::vector<std::string>& values) {
  std::string out;
  for (const auto& value : values) out += (out.empty() ? "" : ", ") + value;
  return out;
}

class Walker {
 public:
  explicit Walker(std::vector<Problem>& problems) : problems_(problems) {}

  void walk(const Field& field, const YamlView& node, const std::string& at) {
    if (!node) return;
    using Type = Field::Type;
    switch (field.type) {
      case Type::kAny:
        return;
      case Type::kUnsupported:
        fail(at, "not supported by remora-pilot", "not_supported");
        return;
      case Type::kString:
        if (!node.isScalar()) fail(at, "must be a string", "wrong_type");
        return;
      case Type::kInteger:
        if (!node.isScalar() || !isInteger(node.str())) {
          fail(at, "must be a whole number", "wrong_type");
        }
        return;
      case Type::kNumber:
        if (!node.isScalar() || !isNumber(node.str())) fail(at, "must be a number", "wrong_type");
        return;
      case Type::kBool:
        if (!node.isScalar() || (node.str() != "true" && node.str() != "false")) {
          fail(at, "must be true or false", "wrong_type");
        }
        return;
      case Type::kIntOrString:
        if (!node.isScalar()) fail(at, "must be a number or a name", "wrong_type");
        return;
      case Type::kEnum:
        if (!node.isScalar()) {
          fail(at, "must be one of " + join(field.values), "wrong_type");
        } else if (std::find(field.values.begin(), field.values.end(), node.str()) ==
                   field.values.end()) {
          fail(at, "\"" + node.str() + "\" is not one of " + join(field.values), "bad_enum");
        }
        return;
      case Type::kObject:
        walkObject(field, node, at);
        return;
      case Type::kMapOf:
        if (!node.isMap()) {
          fail(at, "must be a mapping", "wrong_type");
          return;
        }
        for (const auto& entry : node) {
          std::string key = entry.first.isScalar() ? entry.first.str() : "?";
          walk(*field.element, entry.second, at + "[" + key + "]");
        }
        return;
      case Type::kList:
        if (!node.isSequence()) {
          fail(at, "must be a list", "wrong_type");
          return;
        }
        for (size_t i = 0; i < node.size(); ++i) {
          walk(*field.element, node[i], at + "[" + std::to_string(i) + "]");
        }
        return;
    }
  }

 private:
  void walkObject(const Field& field, const YamlView& node, const std::string& at) {
    if (!node.isMap()) {
      fail(at.empty() ? "(object)" : at, "must be a mapping", "wrong_type");
      return;
    }
    for (const auto& entry : node) {
      if (!entry.first.isScalar()) {
        fail(at, "keys must be strings", "wrong_type");
        continue;
      }
      const std::string key = entry.first.str();
      std::string path = at.empty() ? key : at + "." + key;
      auto known = field.fields.find(key);
      if (known == field.fields.end()) {
        if (!field.open) fail(path, "unknown field", "unknown_field");
        continue;
      }
      walk(*known->second, entry.second, path);
    }
  }

  void fail(const std::string& at, std::string message, std::string reason) {
    problems_.push_back({at, std::move(message), std::move(reason)});
  }

  std::vector<Problem>& problems_;
};

}  // namespace

FieldPtr text() { return make(Field::Type::kString); }
FieldPtr integer() { return make(Field::Type::kInteger); }
FieldPtr number() { return make(Field::Type::kNumber); }
FieldPtr boolean() { return make(Field::Type::kBool); }
FieldPtr intOrString() { return make(Field::Type::kIntOrString); }
FieldPtr anything() { return make(Field::Type::kAny); }
FieldPtr unsupported() { return make(Field::Type::kUnsupported); }

FieldPtr oneOf(std::vector<std::string> values) {
  auto field = std::make_shared<Field>();
  field->type = Field::Type::kEnum;
  field->values = std::move(values);
  return field;
}

FieldPtr object(std::map<std::string, FieldPtr> fields) {
  auto field = std::make_shared<Field>();
  field->type = Field::Type::kObject;
  field->fields = std::move(fields);
  return field;
}

FieldPtr openObject(std::map<std::string, FieldPtr> fields) {
  auto field = std::make_shared<Field>();
  field->type = Field::Type::kObject;
  field->open = true;
  field->fields = std::move(fields);
  return field;
}

FieldPtr mapOf(FieldPtr value) {
  auto field = std::make_shared<Field>();
  field->type = Field::Type::kMapOf;
  field->element = std::move(value);
  return field;
}

FieldPtr listOf(FieldPtr element) {
  auto field = std::make_shared<Field>();
  field->type = Field::Type::kList;
  field->element = std::move(element);
  return field;
}

FieldPtr metadata() {
  return openObject({{"name", text()},
                     {"namespace", text()},
                     {"labels", labels()},
                     {"annotations", labels()},
                     {"creationTimestamp", text()}});
}

bool knownKind(const std::string& kind) {
  return istioKinds().count(kind) > 0 || kubernetesKinds().count(kind) > 0;
}

bool istioKind(const std::string& kind) { return istioKinds().count(kind) > 0; }

std::vector<Problem> check(const std::string& kind, const YamlView& object) {
  std::vector<Problem> problems;
  const FieldPtr* schema = nullptr;
  if (auto it = istioKinds().find(kind); it != istioKinds().end()) schema = &it->second;
  if (auto it = kubernetesKinds().find(kind); it != kubernetesKinds().end()) schema = &it->second;
  if (schema == nullptr) return problems;
  Walker(problems).walk(**schema, object, "");
  return problems;
}

}  // namespace remora::pilot::schema
