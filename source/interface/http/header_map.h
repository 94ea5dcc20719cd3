#pragma once

// HTTP headers as an ordered list of (lowercase name, value) pairs, the same for HTTP/1.1 and
// HTTP/2. Request pseudo-headers are kept as ordinary entries named ":method", ":path",
// ":authority", ":scheme"; the response status as ":status". Codecs translate to and from
// their wire forms (HTTP/1.1's request line and Host header; HTTP/2's pseudo-headers).

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace remora::http {

class HeaderMap {
 public:
  using Entry = std::pair<std::string, std::string>;

  // Appends an entry; `name` must already be lowercase.
  void add(std::string_view name, std::string_view value) {
    entries_.emplace_back(std::string(name), std::string(value));
    byte_size_ += name.size() + value.size();
  }
  // Replaces every entry named `name` with one entry (appended if none existed).
  void set(std::string_view name, std::string_view value) {
    for (auto& entry : entries_) {
      if (entry.first == name) {
        byte_size_ += value.size();
        byte_size_ -= entry.second.size();
        entry.second = std::string(value);
        removeAfterFirst(name);
        return;
      }
    }
    add(name, value);
  }
  // Removes every entry named `name`; returns how many were removed.
  size_t remove(std::string_view name) {
    size_t removed = 0;
    for (size_t i = 0; i < entries_.size();) {
      if (entries_[i].first == name) {
        byte_size_ -= entries_[i].first.size() + entries_[i].second.size();
        entries_.erase(entries_.begin() + i);
        ++removed;
      } else {
        ++i;
      }
    }
    return removed;
  }
  // The first value named `name`, or nullptr.
  const std::string* get(std::string_view name) const {
    for (const auto& entry : entries_) {
      if (entry.first == name) return &entry.second;
    }
    return nullptr;
  }
  std::string_view getOr(std::string_view name, std::string_view fallback) const {
    const std::string* value = get(name);
    return value ? std::string_view(*value) : fallback;
  }
  bool has(std::string_view name) const { return get(name) != nullptr; }

  const std::vector<Entry>& entries() const { return entries_; }
  size_t size() const { return entries_.size(); }
  bool empty() const { return entries_.empty(); }
  // Sum of name and value lengths: what header-size limits count.
  size_t byteSize() const { return byte_size_; }
  void clear() {
    entries_.clear();
    byte_size_ = 0;
  }

  // Shorthands for the pseudo-headers.
  std::string_view method() const { return getOr(":method", ""); }
  std::string_view path() const { return getOr(":path", ""); }
  std::string_view authority() const { return getOr(":authority", ""); }
  std::string_view scheme() const { return getOr(":scheme", ""); }
  // The response status, or 0 when absent or not a number.
  uint32_t status() const {
    std::string_view text = getOr(":status", "");
    uint32_t value = 0;
    if (text.size() != 3) return 0;
    for (char c : text) {
      if (c < '0' || c > '9') return 0;
      value = value * 10 + (c - '0');
    }
    return value;
  }

 private:
  void removeAfterFirst(std::string_view name) {
    bool seen = false;
    for (size_t i = 0; i < entries_.size();) {
      if (entries_[i].first == name) {
        if (seen) {
          byte_size_ -= entries_[i].first.size() + entries_[i].second.size();
          entries_.erase(entries_.begin() + i);
          continue;
        }
        seen = true;
      }
      ++i;
    }
  }

  std::vector<Entry> entries_;
  size_t byte_size_ = 0;
};

}  // namespace remora::http
