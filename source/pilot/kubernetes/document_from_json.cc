#include "source/pilot/kubernetes/document_from_json.h"

#include <string>

namespace remora::pilot::kubernetes {
namespace {

using Index = CompactDocumentBuilder::Index;

size_t presentMembers(const JsonValue& object) {
  size_t count = 0;
  for (const auto& member : object.members()) count += member.second.isNull() ? 0 : 1;
  return count;
}

void fill(CompactDocumentBuilder& builder, Index slot, const JsonValue& value) {
  switch (value.type()) {
    case JsonValue::Type::kNull:
      builder.setNull(slot);
      return;
    case JsonValue::Type::kBool:
      builder.setKey(slot, value.asBool() ? "true" : "false");
      return;
    case JsonValue::Type::kNumber:
      builder.setScalar(slot, value.serialize());  // the number as the server wrote it
      return;
    case JsonValue::Type::kString:
      builder.setScalar(slot, value.asString());
      return;
    case JsonValue::Type::kArray: {
      const auto& elements = value.elements();
      Index first = builder.reserve(elements.size());
      builder.setSequence(slot, first, elements.size());
      for (size_t i = 0; i < elements.size(); ++i) fill(builder, first + i, elements[i]);
      return;
    }
    case JsonValue::Type::kObject: {
      size_t entries = presentMembers(value);
      Index next = builder.reserve(2 * entries);
      builder.setMap(slot, next, entries);
      for (const auto& [key, member] : value.members()) {
        if (member.isNull()) continue;
        builder.setKey(next, key);
        fill(builder, next + 1, member);
        next += 2;
      }
      return;
    }
  }
}

}  // namespace

CompactDocumentPtr documentFromJson(const JsonValue& value) {
  CompactDocumentBuilder builder;
  fill(builder, builder.reserve(1), value);
  return builder.finish();
}

CompactDocumentPtr documentFromApiObject(const JsonValue& object, std::string_view kind,
                                         std::string_view api_version) {
  if (!object.isObject()) return documentFromJson(object);
  // apiVersion and kind first, then the other members in the server's order.
  const std::string own_version = object.get("apiVersion").asString();
  size_t others = 0;
  for (const auto& [key, member] : object.members()) {
    others += key != "apiVersion" && key != "kind" && !member.isNull() ? 1 : 0;
  }
  CompactDocumentBuilder builder;
  Index root = builder.reserve(1);
  Index next = builder.reserve(2 * (others + 2));
  builder.setMap(root, next, others + 2);
  builder.setKey(next, "apiVersion");
  builder.setKey(next + 1, own_version.empty() ? api_version : own_version);
  builder.setKey(next + 2, "kind");
  builder.setKey(next + 3, kind);
  next += 4;
  for (const auto& [key, member] : object.members()) {
    if (key == "apiVersion" || key == "kind" || member.isNull()) continue;
    builder.setKey(next, key);
    fill(builder, next + 1, member);
    next += 2;
  }
  return builder.finish();
}

}  // namespace remora::pilot::kubernetes
