#pragma once

// The map keys of every kept document, stored once for the whole process: 50,000 pods share
// one "metadata", one "resourceVersion", one "security.istio.io/tlsMode". Keys are few
// (the kinds' field names, label and annotation names), so the table is small and never
// shrinks; it holds at most kCapacity keys of at most kMaxLength bytes, and a key that does not
// fit stays in its own document.
//
// Thread-safe: intern() from any thread (a mutex); at() without a lock, for any id intern()
// returned (entries are written once, before their id is handed out, and never move).

#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

namespace remora::pilot {

class SharedKeys {
 public:
  static constexpr size_t kCapacity = 16384;
  static constexpr size_t kMaxLength = 64;

  static SharedKeys& instance();

  // The id of `key`, added if new; none when it is too long or the table is full.
  std::optional<uint32_t> intern(std::string_view key);
  std::string_view at(uint32_t id) const { return entries_[id]; }
  size_t size() const;

 private:
  SharedKeys();

  mutable std::mutex mutex_;  // guards ids_, storage_ and adding to entries_
  std::unordered_map<std::string_view, uint32_t> ids_;  // views of storage_
  std::deque<std::string> storage_;                     // elements never move
  std::unique_ptr<std::string_view[]> entries_;
};

}  // namespace remora::pilot
