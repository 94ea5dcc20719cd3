#pragma once

// A 64-bit fingerprint of a sequence of values: resource versions, layer inputs, SotW versions.
// Not cryptographic (a collision only means a change is noticed at the next one) and not
// stable across builds (std::hash): never stored outside the process.

#include <cstdint>
#include <cstdio>
#include <functional>
#include <string>
#include <string_view>

namespace remora::pilot {

class Fingerprint {
 public:
  // Texts are length-delimited: "ab" + "c" and "a" + "bc" differ.
  Fingerprint& add(std::string_view text) {
    mix(std::hash<std::string_view>{}(text));
    return mix(text.size());
  }
  Fingerprint& add(const char* text) { return add(std::string_view(text)); }
  Fingerprint& add(const std::string& text) { return add(std::string_view(text)); }
  Fingerprint& add(uint64_t value) { return mix(value); }
  Fingerprint& add(bool value) { return mix(value ? 0x51 : 0x50); }
  Fingerprint& add(uint32_t value) { return mix(value); }
  Fingerprint& add(int64_t value) { return mix(static_cast<uint64_t>(value)); }
  uint64_t value() const { return state_; }
  // 16 lowercase hex digits.
  std::string hex() const {
    char out[17];
    std::snprintf(out, sizeof(out), "%016llx", static_cast<unsigned long long>(state_));
    return out;
  }

 private:
  Fingerprint& mix(uint64_t value) {
    // splitmix64's finaliser over the running state.
    uint64_t z = state_ ^ (value + 0x9e3779b97f4a7c15ull + (state_ << 6) + (state_ >> 2));
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    state_ = z ^ (z >> 31);
    return *this;
  }
  uint64_t state_ = 0x2545f4914f6cdd1dull;
};

}  // namespace remora::pilot
