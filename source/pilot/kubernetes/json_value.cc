#include "source/pilot/kubernetes/json_value.h"

#include <charconv>

#include "source/common/common/json_string.h"

namespace remora::pilot::kubernetes {

std::string& JsonValue::becomeText(Type type) {
  type_ = type;
  return value_.emplace<std::string>();
}

std::vector<JsonValue>& JsonValue::becomeArray() {
  type_ = Type::kArray;
  return value_.emplace<std::vector<JsonValue>>();
}

JsonValue::Members& JsonValue::becomeObject() {
  type_ = Type::kObject;
  return value_.emplace<Members>();
}

void JsonValue::becomeBool(bool value) {
  type_ = Type::kBool;
  value_ = value;
}

const std::vector<JsonValue>& JsonValue::elements() const {
  static const std::vector<JsonValue> kNone;
  const auto* elements = std::get_if<std::vector<JsonValue>>(&value_);
  return elements != nullptr ? *elements : kNone;
}

const JsonValue::Members& JsonValue::members() const {
  static const Members kNone;
  const auto* members = std::get_if<Members>(&value_);
  return members != nullptr ? *members : kNone;
}

std::vector<JsonValue>* JsonValue::elementsForChange() {
  return std::get_if<std::vector<JsonValue>>(&value_);
}

const JsonValue& JsonValue::get(std::string_view key) const {
  static const JsonValue kNull;
  for (const auto& [name, value] : members()) {
    if (name == key) {
      return value;
    }
  }
  return kNull;
}

JsonValue* JsonValue::find(std::string_view key) {
  auto* members = std::get_if<Members>(&value_);
  if (members == nullptr) {
    return nullptr;
  }
  for (auto& [name, value] : *members) {
    if (name == key) {
      return &value;
    }
  }
  return nullptr;
}

bool JsonValue::erase(std::string_view key) {
  auto* members = std::get_if<Members>(&value_);
  if (members == nullptr) {
    return false;
  }
  for (auto it = members->begin(); it != members->end(); ++it) {
    if (it->first == key) {
      members->erase(it);
      return true;
    }
  }
  return false;
}

void JsonValue::keepOnly(std::initializer_list<std::string_view> keys) {
  auto* members = std::get_if<Members>(&value_);
  if (members == nullptr) {
    return;
  }
  std::erase_if(*members, [&](const auto& member) {
    for (std::string_view key : keys) {
      if (member.first == key) {
        return false;
      }
    }
    return true;
  });
  members->shrink_to_fit();  // kept for long: no slack
}

std::string JsonValue::asString(std::string_view fallback) const {
  const auto* text = std::get_if<std::string>(&value_);
  return type_ == Type::kString && text != nullptr ? *text : std::string(fallback);
}

long long JsonValue::asInteger(long long fallback) const {
  const auto* text = std::get_if<std::string>(&value_);
  if (type_ != Type::kNumber || text == nullptr) {
    return fallback;
  }
  long long value = 0;
  auto [end, ec] = std::from_chars(text->data(), text->data() + text->size(), value);
  return (ec == std::errc() && end == text->data() + text->size()) ? value : fallback;
}

bool JsonValue::asBool(bool fallback) const {
  const auto* value = std::get_if<bool>(&value_);
  return value != nullptr ? *value : fallback;
}

void JsonValue::serializeTo(std::string& out) const {
  switch (type_) {
    case Type::kNull:
      out += "null";
      break;
    case Type::kBool:
      out += asBool() ? "true" : "false";
      break;
    case Type::kNumber:
      out += std::get<std::string>(value_);
      break;
    case Type::kString:
      json::appendString(std::get<std::string>(value_), out);
      break;
    case Type::kArray: {
      const auto& elements = std::get<std::vector<JsonValue>>(value_);
      out += '[';
      for (size_t i = 0; i < elements.size(); ++i) {
        if (i > 0) {
          out += ',';
        }
        elements[i].serializeTo(out);
      }
      out += ']';
      break;
    }
    case Type::kObject: {
      const auto& members = std::get<Members>(value_);
      out += '{';
      for (size_t i = 0; i < members.size(); ++i) {
        if (i > 0) {
          out += ',';
        }
        json::appendString(members[i].first, out);
        out += ':';
        members[i].second.serializeTo(out);
      }
      out += '}';
      break;
    }
  }
}

std::string JsonValue::quote(std::string_view text) {
  std::string out;
  json::appendString(text, out);
  return out;
}

std::string JsonValue::serialize() const {
  std::string out;
  serializeTo(out);
  return out;
}

}  // namespace remora::pilot::kubernetes
