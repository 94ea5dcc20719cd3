#include "source/pilot/document/document_from_yaml.h"

namespace remora::pilot {
namespace {

void fill(CompactDocumentBuilder& builder, CompactDocumentBuilder::Index slot,
          const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Scalar:
      builder.setScalar(slot, node.Scalar());
      return;
    case YAML::NodeType::Sequence: {
      auto first = builder.reserve(node.size());
      builder.setSequence(slot, first, node.size());
      size_t i = 0;
      for (const auto& element : node) fill(builder, first + i++, element);
      return;
    }
    case YAML::NodeType::Map: {
      auto first = builder.reserve(2 * node.size());
      builder.setMap(slot, first, node.size());
      size_t i = 0;
      for (const auto& entry : node) {
        if (entry.first.IsScalar()) {
          builder.setKey(first + 2 * i, entry.first.Scalar());
        } else {
          fill(builder, first + 2 * i, entry.first);
        }
        fill(builder, first + 2 * i + 1, entry.second);
        ++i;
      }
      return;
    }
    case YAML::NodeType::Null:
    case YAML::NodeType::Undefined:
      builder.setNull(slot);
      return;
  }
}

}  // namespace

CompactDocumentPtr documentFromYaml(const YAML::Node& node) {
  CompactDocumentBuilder builder;
  auto root = builder.reserve(1);
  if (node.IsDefined()) fill(builder, root, node);
  return builder.finish();
}

}  // namespace remora::pilot
