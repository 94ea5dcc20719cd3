#pragma once

// How long a listener waits before accepting again after accept() failed for want of
// resources (descriptors, memory): 10 ms, doubling on each further failure, at most 1 s; back
// to 10 ms once an accept succeeds. Retrying at once would spin the loop at 100 % CPU while
// nothing frees up, and waiting long would leave clients in the backlog after it did.

#include <algorithm>
#include <chrono>

namespace remora::network {

class AcceptBackoff {
 public:
  static constexpr std::chrono::milliseconds kFirst{10};
  static constexpr std::chrono::milliseconds kMax{1000};

  // The delay before the next try after one more failure.
  std::chrono::milliseconds onFailure() {
    std::chrono::milliseconds delay = next_;
    next_ = std::min(next_ * 2, kMax);
    return delay;
  }
  // An accept succeeded: the next failure starts from the first delay again.
  void onSuccess() { next_ = kFirst; }

 private:
  std::chrono::milliseconds next_ = kFirst;
};

// True for the accept() errors that mean the process or the system ran out of something
// (EMFILE, ENFILE, ENOBUFS, ENOMEM): retrying before something is freed cannot succeed.
bool isResourceExhaustion(int error);

}  // namespace remora::network
