#pragma once

// The stable 64-bit hash behind consistent hashing: the router hashes a request's header, cookie
// or source IP with hashKey(), and the ring hash and maglev balancers place hosts with the same
// function, so every worker and every process agrees on where a key goes.

#include <cstdint>
#include <string_view>

namespace remora::upstream::lb {

// A finalizer (splitmix64's): every input bit affects every output bit, so keys or replica
// indexes that differ by one land far apart. A bijection: distinct inputs never collide.
constexpr uint64_t mix64(uint64_t x) {
  x ^= x >> 30;
  x *= 0xBF58476D1CE4E5B9ULL;
  x ^= x >> 27;
  x *= 0x94D049BB133111EBULL;
  x ^= x >> 31;
  return x;
}

// FNV-1a 64 over the bytes, then mix64. Stable across runs, builds and machines (no seed, no
// dependence on std::hash). Not for hostile input (no DoS resistance is needed: a key only
// picks a host).
uint64_t hashKey(std::string_view bytes);

}  // namespace remora::upstream::lb
