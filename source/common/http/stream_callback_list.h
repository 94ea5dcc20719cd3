#pragma once

// The StreamCallbacks registered on a codec stream, and telling them about resets and
// watermarks. Shared by the HTTP/1.1 and HTTP/2 codecs' stream classes.

#include <string_view>
#include <vector>

#include "source/interface/http/codec.h"

namespace remora::http {

class StreamCallbackList {
 public:
  void add(StreamCallbacks& callbacks) { callbacks_.push_back(&callbacks); }
  // Nulled, not erased: the list may be being walked right now.
  void remove(StreamCallbacks& callbacks) {
    for (auto& cb : callbacks_) {
      if (cb == &callbacks) cb = nullptr;
    }
  }
  // Tells every callback once; later calls do nothing.
  void notifyReset(StreamResetReason reason, std::string_view details) {
    if (reset_) return;
    reset_ = true;
    auto copy = callbacks_;
    for (auto* cb : copy) {
      if (cb) cb->onResetStream(reason, details);
    }
  }
  void notifyWatermark(bool above) {
    for (size_t i = 0; i < callbacks_.size(); ++i) {
      auto* cb = callbacks_[i];
      if (cb == nullptr) continue;
      if (above) {
        cb->onAboveWriteBufferHighWatermark();
      } else {
        cb->onBelowWriteBufferLowWatermark();
      }
    }
  }
  bool reset() const { return reset_; }

 private:
  std::vector<StreamCallbacks*> callbacks_;
  bool reset_ = false;
};

}  // namespace remora::http
