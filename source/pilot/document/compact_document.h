#pragma once

// An immutable parsed document (a manifest's YAML or an API object's JSON) kept compactly, in
// one allocation: every node is 8 bytes in one array, a container's children sit next to each
// other (a map's entries as key, value, key, value, ...), and the scalars' text follows
// (equal strings of a document stored once; map keys stored once for the whole process, see
// shared_keys.h). A typical trimmed pod takes about 650 bytes this way, against ~3.4 KB as a
// JSON tree and ~30 KB as a yaml-cpp tree (kept_pod_memory_test).
//
// Built by CompactDocumentBuilder (document_from_yaml.h, kubernetes/document_from_json.h) and
// shared as shared_ptr<const CompactDocument>: copies of an Object share one document, and an
// unchanged object is the same document in every snapshot. Reading is thread-safe (nothing
// changes after building). Nodes are addressed by index; kRoot is the document itself.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace remora::pilot {

class CompactDocument {
 public:
  enum class Type : uint8_t { kNull = 0, kScalar = 1, kSequence = 2, kMap = 3 };
  using Index = uint32_t;
  static constexpr Index kRoot = 0;

  // An empty document: the root is null.
  static std::shared_ptr<const CompactDocument> empty();

  // Every `node` below must be an index this document handed out (kRoot, element(),
  // entryKey(), entryValue(), find()); nothing is checked.
  Type type(Index node) const { return static_cast<Type>(nodes()[node].length_and_type >> 30); }
  // A scalar's text; "" for other types.
  std::string_view scalar(Index node) const;
  // A sequence's elements or a map's entries; 0 for scalars and null.
  size_t size(Index node) const;
  // The i-th element of a sequence / key and value of a map's i-th entry; i < size(node).
  Index element(Index sequence, size_t i) const { return nodes()[sequence].offset + i; }
  Index entryKey(Index map, size_t i) const { return nodes()[map].offset + 2 * i; }
  Index entryValue(Index map, size_t i) const { return nodes()[map].offset + 2 * i + 1; }
  // The value of the first entry of `map` whose key is the scalar `key`; none when absent or
  // when `map` is not a map.
  std::optional<Index> find(Index map, std::string_view key) const;

  // Bytes of this document's one allocation (the object, its nodes and text; neither the
  // shared pointer's control block, nor allocator overhead, nor the shared keys).
  size_t keptBytes() const;
  // A hash of the content (types, keys, values, order; not how it was written): equal
  // documents hash equal in every process. 16 hex digits.
  std::string contentHash() const;
  // Compact JSON text (scalars as strings, null as null), for logs and tests.
  std::string toJson() const;

 private:
  friend class CompactDocumentBuilder;
  // Scalars: offset and length of the text (kSharedKey set: `offset` is a SharedKeys id).
  // Containers: the first child's index and the number of elements (entries for maps). The
  // type is the top 2 bits of length_and_type.
  struct Node {
    uint32_t offset = 0;
    uint32_t length_and_type = 0;
  };
  static constexpr uint32_t kSharedKey = 1u << 29;
  static constexpr uint32_t kLengthMask = kSharedKey - 1;

  // Made only by the builder, in one allocation with the nodes and text right after it.
  CompactDocument(uint32_t node_count, uint32_t text_size)
      : node_count_(node_count), text_size_(text_size) {}
  CompactDocument(const CompactDocument&) = delete;
  CompactDocument& operator=(const CompactDocument&) = delete;
  const Node* nodes() const {
    return reinterpret_cast<const Node*>(reinterpret_cast<const char*>(this) + sizeof(*this));
  }
  const char* text() const { return reinterpret_cast<const char*>(nodes() + node_count_); }
  void appendJson(Index node, std::string& out) const;

  uint32_t node_count_;
  uint32_t text_size_;
};

using CompactDocumentPtr = std::shared_ptr<const CompactDocument>;

// Builds a document top-down: reserve(1) for the root, then for each container reserve its
// children's slots in one go and fill them (in any order, recursively). Slots not set are
// null. Not thread-safe; finish() once.
class CompactDocumentBuilder {
 public:
  using Index = CompactDocument::Index;
  CompactDocumentBuilder();

  // `count` consecutive slots; returns the first. Throws std::length_error past 2^30 nodes.
  Index reserve(size_t count);
  void setNull(Index slot);
  // Throws std::length_error for text of 1 GiB or more (or a document past 4 GiB of text).
  void setScalar(Index slot, std::string_view text);
  // A scalar that is one of few values across all documents (a map key, a kind): stored in
  // SharedKeys when it fits there, else as setScalar.
  void setKey(Index slot, std::string_view text);
  // `first`: reserve(elements) (entries: reserve(2 * entries), keys at even offsets).
  void setSequence(Index slot, Index first, size_t elements);
  void setMap(Index slot, Index first, size_t entries);

  // The document, with exactly sized storage.
  CompactDocumentPtr finish();

 private:
  void set(Index slot, CompactDocument::Type type, uint32_t offset, size_t length,
           uint32_t flags = 0);

  std::vector<CompactDocument::Node> nodes_;
  std::string text_;
  // Where each short string already in text_ starts: equal keys and values stored once.
  std::unordered_map<std::string, uint32_t> stored_;
};

}  // namespace remora::pilot
