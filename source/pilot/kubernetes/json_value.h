#pragma once

// A parsed JSON document, small and dependency-free: what the Kubernetes API server sends
// (list pages, watch events, discovery documents). Objects keep their members in document
// order; numbers keep their source text so resource versions and large integers never pass
// through a double. Copies are deep; the only change offered is removing members (trimming an
// object before it is kept), and objects shared in snapshots are const.

#include <initializer_list>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "source/common/crypto/result.h"

namespace remora::pilot::kubernetes {

class JsonValue {
 public:
  enum class Type { kNull, kBool, kNumber, kString, kArray, kObject };

  JsonValue() = default;  // null

  // Parses one JSON text (RFC 8259; surrounding whitespace allowed, nothing else after it).
  // Nesting deeper than kMaxDepth is refused. Errors give the byte offset:
  // "JSON at byte 17: expected ':'".
  static crypto::Result<JsonValue> parse(std::string_view text);
  static constexpr int kMaxDepth = 128;

  Type type() const { return type_; }
  bool isNull() const { return type_ == Type::kNull; }
  bool isObject() const { return type_ == Type::kObject; }
  bool isArray() const { return type_ == Type::kArray; }
  bool isString() const { return type_ == Type::kString; }
  bool isNumber() const { return type_ == Type::kNumber; }

  // The member `key` of an object, or a shared null value when absent or not an object, so
  // lookups chain: event.get("object").get("metadata").get("name").
  const JsonValue& get(std::string_view key) const;
  // The string, or `fallback` when this is not a string.
  std::string asString(std::string_view fallback = "") const;
  // An integer number, or `fallback` when this is not a number with an integral value.
  long long asInteger(long long fallback = 0) const;
  bool asBool(bool fallback = false) const;
  // Array elements (empty for non-arrays) and object members (empty for non-objects).
  const std::vector<JsonValue>& elements() const;
  const std::vector<std::pair<std::string, JsonValue>>& members() const;

  // The member `key` of an object for changing, or null when absent.
  JsonValue* find(std::string_view key);
  // Removes the member `key` of an object; false when there was none.
  bool erase(std::string_view key);
  // Removes every member of an object not named in `keys`.
  void keepOnly(std::initializer_list<std::string_view> keys);
  // The elements of an array for changing, or null for non-arrays.
  std::vector<JsonValue>* elementsForChange();

  // Compact JSON text (no insignificant whitespace), strings escaped per RFC 8259.
  std::string serialize() const;
  // `text` as a JSON string literal, quotes included (for building request bodies).
  static std::string quote(std::string_view text);

 private:
  friend class JsonParser;
  using Members = std::vector<std::pair<std::string, JsonValue>>;
  // The parser's way in: makes this value of `type` and returns its (empty) storage.
  std::string& becomeText(Type type);  // kString or kNumber (the number's source text)
  std::vector<JsonValue>& becomeArray();
  Members& becomeObject();
  void becomeBool(bool value);
  void serializeTo(std::string& out) const;

  // One variant, not a field per type: at 50,000 pods the kept objects are millions of
  // values, and a value is 48 bytes this way instead of 88.
  Type type_ = Type::kNull;
  std::variant<std::monostate, bool, std::string, std::vector<JsonValue>, Members> value_;
};

}  // namespace remora::pilot::kubernetes
