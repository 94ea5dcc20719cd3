#pragma once

// The StreamCallbacks registered on a codec stream, and telling them about resets and
// watermarks. Shared by the HTTP/1.1 and HTTP/2 codecs' stream classes.

#include <string_view>
#include <vector>

#include "source/interface/http/codec.h"

namespace remora::http {

class StreamCallbackList {
 public:
  void add(StreamCallbacks& callbacks) {
    // Streams have two or three listeners; the first few need no allocation.
    if (inline_count_ < kInline) {
      inline_[inline_count_++] = &callbacks;
    } else {
      callbacks_.push_back(&callbacks);
    }
  }
  // Nulled, not erased: the list may be being walked right now.
  void remove(StreamCallbacks& callbacks) {
    for (size_t i = 0; i < size(); ++i) {
      if (at(i) == &callbacks) at(i) = nullptr;
    }
  }
  // Tells every callback once; later calls do nothing.
  void notifyReset(StreamResetReason reason, std::string_view details) {
    if (reset_) return;
    reset_ = true;
    // By index: callbacks may add or remove listeners while told.
    for (size_t i = 0; i < size(); ++i) {
      if (auto* cb = at(i)) cb->onResetStream(reason, details);
    }
  }
  void notifyWatermark(bool above) {
    for (size_t i = 0; i < size(); ++i) {
      auto* cb = at(i);
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
  static constexpr size_t kInline = 4;
  size_t size() const { return inline_count_ + callbacks_.size(); }
  StreamCallbacks*& at(size_t i) { return i < kInline ? inline_[i] : callbacks_[i - kInline]; }

  StreamCallbacks* inline_[kInline] = {};
  size_t inline_count_ = 0;
  std::vector<StreamCallbacks*> callbacks_;  // beyond the inline ones
  bool reset_ = false;
};

}  // namespace remora::http
