#include "source/pilot/kubernetes/json_value.h"

#include <charconv>

namespace remora::pilot::kubernetes {

const JsonValue& JsonValue::get(std::string_view key) const {
  static const JsonValue kNull;
  for (const auto& [name, value] : members_) {
    if (name == key) {
      return value;
    }
  }
  return kNull;
}

JsonValue* JsonValue::find(std::string_view key) {
  for (auto& [name, value] : members_) {
    if (name == key) {
      return &value;
    }
  }
  return nullptr;
}

bool JsonValue::erase(std::string_view key) {
  for (auto it = members_.begin(); it != members_.end(); ++it) {
    if (it->first == key) {
      members_.erase(it);
      return true;
    }
  }
  return false;
}

std::string JsonValue::asString(std::string_view fallback) const {
  return type_ == Type::kString ? text_ : std::string(fallback);
}

long long JsonValue::asInteger(long long fallback) const {
  if (type_ != Type::kNumber) {
    return fallback;
  }
  long long value = 0;
  auto [end, ec] = std::from_chars(text_.data(), text_.data() + text_.size(), value);
  return (ec == std::errc() && end == text_.data() + text_.size()) ? value : fallback;
}

bool JsonValue::asBool(bool fallback) const { return type_ == Type::kBool ? bool_ : fallback; }

namespace {
void serializeString(std::string_view text, std::string& out) {
  static const char kHex[] = "0123456789abcdef";
  out += '"';
  for (char c : text) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          out += "\\u00";
          out += kHex[(c >> 4) & 0xF];
          out += kHex[c & 0xF];
        } else {
          out += c;
        }
    }
  }
  out += '"';
}
}  // namespace

void JsonValue::serializeTo(std::string& out) const {
  switch (type_) {
    case Type::kNull:
      out += "null";
      break;
    case Type::kBool:
      out += bool_ ? "true" : "false";
      break;
    case Type::kNumber:
      out += text_;
      break;
    case Type::kString:
      serializeString(text_, out);
      break;
    case Type::kArray:
      out += '[';
      for (size_t i = 0; i < elements_.size(); ++i) {
        if (i > 0) {
          out += ',';
        }
        elements_[i].serializeTo(out);
      }
      out += ']';
      break;
    case Type::kObject:
      out += '{';
      for (size_t i = 0; i < members_.size(); ++i) {
        if (i > 0) {
          out += ',';
        }
        serializeString(members_[i].first, out);
        out += ':';
        members_[i].second.serializeTo(out);
      }
      out += '}';
      break;
  }
}

std::string JsonValue::serialize() const {
  std::string out;
  serializeTo(out);
  return out;
}

}  // namespace remora::pilot::kubernetes
