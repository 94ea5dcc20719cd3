#pragma once

// The production RandomGenerator: a 64-bit Mersenne Twister seeded from the OS. One per
// worker (not thread-safe).

#include <sys/random.h>

#include <random>

#include "source/interface/common/random.h"

namespace remora {

class MersenneRandom : public RandomGenerator {
 public:
  MersenneRandom() {
    uint64_t seed = 0;
    if (getrandom(&seed, sizeof(seed), 0) != sizeof(seed)) seed = std::random_device{}();
    engine_.seed(seed);
  }
  uint64_t random() override { return engine_(); }

 private:
  std::mt19937_64 engine_;
};

}  // namespace remora
