#pragma once

// Read-only, forgiving access to a manifest (a CompactDocument): a missing key or index gives
// an empty view instead of throwing, so optional nested fields read as plainly as
// `rule["spec"]["trafficPolicy"]["loadBalancer"]`. Conversions (as<T>()) follow yaml-cpp's
// rules (as<bool>: true/false, yes/no, on/off, y/n in yaml-cpp's spellings; integers in
// decimal, 0x hex or 0 octal; as<std::string> of null is "null") and throw
// YAML::BadConversion (a YAML::Exception) on values of the wrong kind, missing ones included;
// the translator reports those against the object.
//
// A view shares its document (copying a view is a reference count), so it stays valid after
// the Object it came from is gone.

// YAML::Exception and YAML::BadConversion, which conversions throw.
#include <yaml-cpp/exceptions.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "source/pilot/document/compact_document.h"

namespace remora::pilot {

struct YamlEntry;

class YamlView {
 public:
  YamlView() = default;
  // The document's root.
  explicit YamlView(CompactDocumentPtr document)
      : document_(std::move(document)), node_(CompactDocument::kRoot) {}

  YamlView operator[](std::string_view key) const;
  YamlView operator[](const std::string& key) const { return (*this)[std::string_view(key)]; }
  YamlView operator[](const char* key) const { return (*this)[std::string_view(key)]; }
  YamlView operator[](size_t index) const;
  YamlView operator[](int index) const { return (*this)[static_cast<size_t>(index)]; }

  // Present and not null.
  explicit operator bool() const { return document_ && type() != CompactDocument::Type::kNull; }
  bool isMap() const { return document_ && type() == CompactDocument::Type::kMap; }
  bool isSequence() const { return document_ && type() == CompactDocument::Type::kSequence; }
  bool isScalar() const { return document_ && type() == CompactDocument::Type::kScalar; }
  // Present and null (`key:`, `key: ~`, `key: null`).
  bool isNull() const { return document_ && type() == CompactDocument::Type::kNull; }
  // Elements of a sequence or entries of a map; 0 otherwise.
  size_t size() const { return document_ ? document_->size(node_) : 0; }
  // std::string, bool, int, uint32_t, int64_t, uint64_t, double (see the top).
  template <class T>
  T as() const;
  // A scalar's text; "" for anything else.
  std::string str() const { return std::string(text()); }
  // A scalar's text without a copy (valid while the view's document lives); "" otherwise.
  std::string_view text() const { return document_ ? document_->scalar(node_) : ""; }

  // Iteration: a sequence's elements, or a map's entries (first = key, second = value).
  class Iterator {
   public:
    Iterator(CompactDocumentPtr document, CompactDocument::Index container, size_t position)
        : document_(std::move(document)), container_(container), position_(position) {}
    YamlEntry operator*() const;
    Iterator& operator++() {
      ++position_;
      return *this;
    }
    bool operator!=(const Iterator& other) const { return position_ != other.position_; }

   private:
    CompactDocumentPtr document_;  // keeps the document alive while iterating
    CompactDocument::Index container_;
    size_t position_;
  };
  Iterator begin() const { return Iterator(document_, node_, 0); }
  // Compares by position only: end() needs no reference count.
  Iterator end() const { return Iterator(nullptr, node_, size()); }

 private:
  YamlView(const CompactDocumentPtr& document, CompactDocument::Index node)
      : document_(document), node_(node) {}
  CompactDocument::Type type() const { return document_->type(node_); }

  CompactDocumentPtr document_;  // null: missing
  CompactDocument::Index node_ = CompactDocument::kRoot;
};

struct YamlEntry : YamlView {
  YamlView first;
  YamlView second;
};

template <>
std::string YamlView::as<std::string>() const;
template <>
bool YamlView::as<bool>() const;
template <>
int YamlView::as<int>() const;
template <>
unsigned YamlView::as<unsigned>() const;
template <>
long YamlView::as<long>() const;
template <>
unsigned long YamlView::as<unsigned long>() const;
template <>
long long YamlView::as<long long>() const;
template <>
unsigned long long YamlView::as<unsigned long long>() const;
template <>
double YamlView::as<double>() const;

}  // namespace remora::pilot
