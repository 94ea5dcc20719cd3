#pragma once

// A source of random numbers, injectable so that load balancing, retry jitter, fault
// percentages and health-check jitter are tested deterministically.

#include <cstdint>

namespace remora {

class RandomGenerator {
 public:
  virtual ~RandomGenerator() = default;
  // Uniform over all 64-bit values.
  virtual uint64_t random() = 0;
};

}  // namespace remora
