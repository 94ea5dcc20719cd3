#include "source/common/upstream/load_balancer/hash.h"

namespace remora::upstream::lb {

uint64_t hashKey(std::string_view bytes) {
  uint64_t h = 0xCBF29CE484222325ULL;  // FNV-1a 64 offset basis
  for (unsigned char c : bytes) {
    h ^= c;
    h *= 0x100000001B3ULL;  // FNV-1a 64 prime
  }
  // FNV-1a alone mixes the last bytes poorly ("10.0.0.1:80" vs "10.0.0.2:80" differ little).
  return mix64(h);
}

}  // namespace remora::upstream::lb
