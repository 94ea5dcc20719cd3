#pragma once

// HTTP headers as an ordered list of (lowercase name, value) pairs, the same for HTTP/1.1 and
// HTTP/2. Request pseudo-headers are kept as ordinary entries named ":method", ":path",
// ":authority", ":scheme"; the response status as ":status". Codecs translate to and from
// their wire forms (HTTP/1.1's request line and Host header; HTTP/2's pseudo-headers).
//
// All names and values live in one byte arena owned by the map, so a message's headers cost
// two allocations however many there are (this showed in profiles as the proxy's largest
// source of mallocs). The views the map hands out stay valid until the map is next changed.

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace remora::http {

class HeaderMap {
 public:
  using Entry = std::pair<std::string_view, std::string_view>;

  HeaderMap() = default;
  HeaderMap(const HeaderMap&) = default;
  HeaderMap& operator=(const HeaderMap&) = default;
  HeaderMap(HeaderMap&&) noexcept = default;
  HeaderMap& operator=(HeaderMap&&) noexcept = default;

  // Appends an entry; `name` must already be lowercase. `name` and `value` may be views into
  // this map.
  void add(std::string_view name, std::string_view value) {
    if (slots_.empty()) {
      slots_.reserve(kInitialSlots);
      if (arena_.capacity() < kInitialArena) arena_.reserve(kInitialArena);
    }
    Slot slot;
    size_t name_at = offsetInArena(name);
    size_t value_at = offsetInArena(value);
    reserveArena(name.size() + value.size());
    slot.name = append(name, name_at);
    slot.value = append(value, value_at);
    slots_.push_back(slot);
    byte_size_ += name.size() + value.size();
  }
  // Replaces every entry named `name` with one entry (appended if none existed).
  void set(std::string_view name, std::string_view value) {
    for (size_t i = 0; i < slots_.size(); ++i) {
      if (view(slots_[i].name) != name) continue;
      byte_size_ += value.size();
      byte_size_ -= slots_[i].value.length;
      // The old value's bytes stay in the arena unused until the map goes.
      size_t value_at = offsetInArena(value);
      reserveArena(value.size());
      slots_[i].value = append(value, value_at);
      removeFrom(i + 1, view(slots_[i].name));
      return;
    }
    add(name, value);
  }
  // Removes every entry named `name`; returns how many were removed.
  size_t remove(std::string_view name) { return removeFrom(0, name); }
  // Removes, in one pass, every entry for which `pred(name, value)` holds.
  template <typename Pred>
  size_t removeIf(Pred pred) {
    size_t kept = 0;
    for (size_t i = 0; i < slots_.size(); ++i) {
      if (pred(view(slots_[i].name), view(slots_[i].value))) {
        byte_size_ -= slots_[i].name.length + slots_[i].value.length;
      } else {
        slots_[kept++] = slots_[i];
      }
    }
    size_t removed = slots_.size() - kept;
    slots_.resize(kept);
    return removed;
  }
  // The first value named `name`, if any.
  std::optional<std::string_view> get(std::string_view name) const {
    for (const Slot& slot : slots_) {
      if (view(slot.name) == name) return view(slot.value);
    }
    return std::nullopt;
  }
  std::string_view getOr(std::string_view name, std::string_view fallback) const {
    auto value = get(name);
    return value ? *value : fallback;
  }
  bool has(std::string_view name) const { return get(name).has_value(); }

  // Iterates the entries in order as (name, value) views.
  class Entries {
   public:
    class Iterator {
     public:
      Iterator(const HeaderMap& map, size_t index) : map_(&map), index_(index) {}
      Entry operator*() const { return map_->entry(index_); }
      Iterator& operator++() {
        ++index_;
        return *this;
      }
      bool operator==(const Iterator& other) const { return index_ == other.index_; }
      bool operator!=(const Iterator& other) const { return index_ != other.index_; }

     private:
      const HeaderMap* map_;
      size_t index_;
    };
    explicit Entries(const HeaderMap& map) : map_(map) {}
    Iterator begin() const { return Iterator(map_, 0); }
    Iterator end() const { return Iterator(map_, map_.size()); }

   private:
    const HeaderMap& map_;
  };
  Entries entries() const { return Entries(*this); }
  Entry entry(size_t index) const { return {view(slots_[index].name), view(slots_[index].value)}; }

  size_t size() const { return slots_.size(); }
  bool empty() const { return slots_.empty(); }
  // Sum of name and value lengths: what header-size limits count.
  size_t byteSize() const { return byte_size_; }
  void clear() {
    slots_.clear();
    arena_.clear();
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
  static constexpr size_t kInitialSlots = 16;
  static constexpr size_t kInitialArena = 512;

  struct Span {
    uint32_t offset = 0;
    uint32_t length = 0;
  };
  struct Slot {
    Span name;
    Span value;
  };

  std::string_view view(Span span) const { return {arena_.data() + span.offset, span.length}; }
  // Where `bytes` starts inside the arena, or npos when it views something else. Taken before
  // the arena grows, which moves it.
  size_t offsetInArena(std::string_view bytes) const {
    std::less_equal<const char*> le;
    if (bytes.empty() || !le(arena_.data(), bytes.data()) ||
        !le(bytes.data() + bytes.size(), arena_.data() + arena_.size())) {
      return std::string::npos;
    }
    return static_cast<size_t>(bytes.data() - arena_.data());
  }
  void reserveArena(size_t more) {
    if (arena_.capacity() < arena_.size() + more) arena_.reserve(arena_.size() + more);
  }
  // Copies `bytes` (or the arena's own bytes at `at`) to the end; capacity is reserved.
  Span append(std::string_view bytes, size_t at) {
    Span span{static_cast<uint32_t>(arena_.size()), static_cast<uint32_t>(bytes.size())};
    arena_.append(at == std::string::npos ? bytes.data() : arena_.data() + at, bytes.size());
    return span;
  }
  size_t removeFrom(size_t start, std::string_view name_in) {
    // `name_in` may point into the arena, which removing slots does not move.
    size_t removed = 0;
    for (size_t i = start; i < slots_.size();) {
      if (view(slots_[i].name) == name_in) {
        byte_size_ -= slots_[i].name.length + slots_[i].value.length;
        slots_.erase(slots_.begin() + static_cast<std::ptrdiff_t>(i));
        ++removed;
      } else {
        ++i;
      }
    }
    return removed;
  }

  std::vector<Slot> slots_;
  std::string arena_;
  size_t byte_size_ = 0;
};

}  // namespace remora::http
