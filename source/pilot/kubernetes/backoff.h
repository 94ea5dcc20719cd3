#pragma once

// Jittered exponential backoff between reconnects: initial, 2x, 4x, ... up to max, each
// stretched by a random factor in [1, 1 + jitter) so replicas that lost the API server at the
// same moment do not come back in step.

#include <algorithm>
#include <chrono>
#include <functional>

namespace remora::pilot::kubernetes {

class Backoff {
 public:
  // `random` returns a number in [0, 1).
  Backoff(std::chrono::milliseconds initial, std::chrono::milliseconds max, double jitter,
          std::function<double()> random)
      : initial_(initial), max_(max), jitter_(jitter), random_(std::move(random)) {}

  std::chrono::milliseconds next() {
    double base = static_cast<double>(initial_.count());
    for (int i = 0; i < attempts_ && base < static_cast<double>(max_.count()); ++i) {
      base *= 2;
    }
    ++attempts_;
    base = std::min(base, static_cast<double>(max_.count()));
    return std::chrono::milliseconds(static_cast<long long>(base * (1 + jitter_ * random_())));
  }
  // After a success: the next failure waits `initial` again.
  void reset() { attempts_ = 0; }

 private:
  const std::chrono::milliseconds initial_;
  const std::chrono::milliseconds max_;
  const double jitter_;
  const std::function<double()> random_;
  int attempts_ = 0;
};

}  // namespace remora::pilot::kubernetes
