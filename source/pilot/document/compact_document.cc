#include "source/pilot/document/compact_document.h"

#include <cstdio>
#include <cstring>
#include <new>
#include <stdexcept>

#include "source/common/common/json_string.h"
#include "source/pilot/document/shared_keys.h"

namespace remora::pilot {
namespace {

// Longer strings are rarely repeated within a document (certificates, JSON blobs): not worth
// a lookup entry.
constexpr size_t kMaxSharedLength = 64;

// FNV-1a, 64 bits: stable across processes and builds (std::hash is neither promised).
class Fnv1a {
 public:
  void add(const void* data, size_t size) {
    const auto* bytes = static_cast<const unsigned char*>(data);
    for (size_t i = 0; i < size; ++i) {
      hash_ = (hash_ ^ bytes[i]) * 1099511628211ull;
    }
  }
  void addNumber(uint64_t value) {
    unsigned char bytes[8];
    for (int i = 0; i < 8; ++i) bytes[i] = static_cast<unsigned char>(value >> (8 * i));
    add(bytes, sizeof(bytes));
  }
  uint64_t value() const { return hash_; }

 private:
  uint64_t hash_ = 14695981039346656037ull;
};

}  // namespace

std::shared_ptr<const CompactDocument> CompactDocument::empty() {
  static const CompactDocumentPtr kEmpty = [] {
    CompactDocumentBuilder builder;
    builder.reserve(1);
    return builder.finish();
  }();
  return kEmpty;
}

std::string_view CompactDocument::scalar(Index node) const {
  const Node& n = nodes()[node];
  if (type(node) != Type::kScalar) return {};
  if (n.length_and_type & kSharedKey) return SharedKeys::instance().at(n.offset);
  return std::string_view(text() + n.offset, n.length_and_type & kLengthMask);
}

size_t CompactDocument::size(Index node) const {
  Type t = type(node);
  return t == Type::kSequence || t == Type::kMap ? nodes()[node].length_and_type & kLengthMask : 0;
}

std::optional<CompactDocument::Index> CompactDocument::find(Index map, std::string_view key) const {
  if (type(map) != Type::kMap) return std::nullopt;
  const size_t entries = size(map);
  for (size_t i = 0; i < entries; ++i) {
    Index k = entryKey(map, i);
    if (type(k) == Type::kScalar && scalar(k) == key) return entryValue(map, i);
  }
  return std::nullopt;
}

size_t CompactDocument::keptBytes() const {
  return sizeof(*this) + node_count_ * sizeof(Node) + text_size_;
}

std::string CompactDocument::contentHash() const {
  Fnv1a hash;
  // Node by node, the type and each scalar's length and text: children lie in the order the
  // document was read, so two documents with the same content have the same nodes.
  for (Index i = 0; i < node_count_; ++i) {
    Type t = type(i);
    hash.addNumber(static_cast<uint64_t>(t));
    if (t == Type::kScalar) {
      std::string_view text = scalar(i);
      hash.addNumber(text.size());
      hash.add(text.data(), text.size());
    } else {
      hash.addNumber(size(i));
    }
  }
  char hex[17];
  std::snprintf(hex, sizeof(hex), "%016llx", static_cast<unsigned long long>(hash.value()));
  return hex;
}

std::string CompactDocument::toJson() const {
  std::string out;
  appendJson(kRoot, out);
  return out;
}

void CompactDocument::appendJson(Index node, std::string& out) const {
  switch (type(node)) {
    case Type::kNull:
      out += "null";
      return;
    case Type::kScalar:
      json::appendString(scalar(node), out);
      return;
    case Type::kSequence:
      out += '[';
      for (size_t i = 0; i < size(node); ++i) {
        if (i > 0) out += ',';
        appendJson(element(node, i), out);
      }
      out += ']';
      return;
    case Type::kMap:
      out += '{';
      for (size_t i = 0; i < size(node); ++i) {
        if (i > 0) out += ',';
        json::appendString(scalar(entryKey(node, i)), out);
        out += ':';
        appendJson(entryValue(node, i), out);
      }
      out += '}';
      return;
  }
}

CompactDocumentBuilder::CompactDocumentBuilder() = default;

CompactDocumentBuilder::Index CompactDocumentBuilder::reserve(size_t count) {
  if (nodes_.size() + count > CompactDocument::kLengthMask) {
    throw std::length_error("document too large");
  }
  Index first = static_cast<Index>(nodes_.size());
  nodes_.resize(nodes_.size() + count);
  return first;
}

void CompactDocumentBuilder::set(Index slot, CompactDocument::Type type, uint32_t offset,
                                 size_t length, uint32_t flags) {
  nodes_[slot].offset = offset;
  nodes_[slot].length_and_type =
      static_cast<uint32_t>(length) | flags | (static_cast<uint32_t>(type) << 30);
}

void CompactDocumentBuilder::setNull(Index slot) { set(slot, CompactDocument::Type::kNull, 0, 0); }

void CompactDocumentBuilder::setScalar(Index slot, std::string_view text) {
  if (text.size() > CompactDocument::kLengthMask || text_.size() + text.size() > UINT32_MAX) {
    throw std::length_error("document too large");
  }
  if (text.size() <= kMaxSharedLength) {
    auto [it, added] = stored_.try_emplace(std::string(text), static_cast<uint32_t>(text_.size()));
    if (added) text_.append(text);
    set(slot, CompactDocument::Type::kScalar, it->second, text.size());
    return;
  }
  set(slot, CompactDocument::Type::kScalar, static_cast<uint32_t>(text_.size()), text.size());
  text_.append(text);
}

void CompactDocumentBuilder::setKey(Index slot, std::string_view text) {
  if (auto id = SharedKeys::instance().intern(text)) {
    set(slot, CompactDocument::Type::kScalar, *id, text.size(), CompactDocument::kSharedKey);
  } else {
    setScalar(slot, text);
  }
}

void CompactDocumentBuilder::setSequence(Index slot, Index first, size_t elements) {
  set(slot, CompactDocument::Type::kSequence, first, elements);
}

void CompactDocumentBuilder::setMap(Index slot, Index first, size_t entries) {
  set(slot, CompactDocument::Type::kMap, first, entries);
}

CompactDocumentPtr CompactDocumentBuilder::finish() {
  // One allocation: the object, then the nodes, then the text, with no slack.
  const size_t node_bytes = nodes_.size() * sizeof(CompactDocument::Node);
  void* memory = ::operator new(sizeof(CompactDocument) + node_bytes + text_.size());
  auto* document = new (memory)
      CompactDocument(static_cast<uint32_t>(nodes_.size()), static_cast<uint32_t>(text_.size()));
  char* data = static_cast<char*>(memory) + sizeof(CompactDocument);
  if (node_bytes > 0) std::memcpy(data, nodes_.data(), node_bytes);
  if (!text_.empty()) std::memcpy(data + node_bytes, text_.data(), text_.size());
  return CompactDocumentPtr(document, [](const CompactDocument* done) {
    done->~CompactDocument();
    ::operator delete(const_cast<CompactDocument*>(done));
  });
}

}  // namespace remora::pilot
