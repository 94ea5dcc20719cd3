#include "source/common/common/uuid.h"

#include <sys/random.h>

#include <cstdint>
#include <random>

namespace remora {
namespace {

std::mt19937_64& generator() {
  thread_local std::mt19937_64 engine = [] {
    uint64_t seed = 0;
    if (getrandom(&seed, sizeof(seed), 0) != sizeof(seed)) seed = std::random_device{}();
    return std::mt19937_64(seed);
  }();
  return engine;
}

}  // namespace

std::string uuid4() {
  std::string out(36, '-');
  writeUuid4(out.data());
  return out;
}

void writeUuid4(char* out) {
  uint64_t high = generator()();
  uint64_t low = generator()();
  high = (high & 0xffffffffffff0fffULL) | 0x0000000000004000ULL;  // version 4
  low = (low & 0x3fffffffffffffffULL) | 0x8000000000000000ULL;    // variant 10xx
  static const char kHex[] = "0123456789abcdef";
  int pos = 0;
  auto put = [&](uint64_t value, int nibbles) {
    for (int i = nibbles - 1; i >= 0; --i) {
      if (pos == 8 || pos == 13 || pos == 18 || pos == 23) out[pos++] = '-';
      out[pos++] = kHex[(value >> (i * 4)) & 0xf];
    }
  };
  put(high, 16);
  put(low, 16);
}

}  // namespace remora
