#include "source/pilot/kubernetes/chunked_decoder.h"

namespace remora::pilot::kubernetes {

using crypto::Error;

namespace {
constexpr size_t kMaxLine = 4096;
}

crypto::Status ChunkedDecoder::feed(std::string_view bytes,
                                    const std::function<void(std::string_view)>& on_data) {
  size_t i = 0;
  while (i < bytes.size() && state_ != State::kDone) {
    if (state_ == State::kData) {
      size_t n = std::min(remaining_, bytes.size() - i);
      on_data(bytes.substr(i, n));
      i += n;
      remaining_ -= n;
      if (remaining_ == 0) {
        state_ = State::kDataEnd;
      }
      continue;
    }
    // The other states read whole CRLF-terminated lines.
    char c = bytes[i++];
    if (c != '\n') {
      if (line_.size() >= kMaxLine) {
        return Error{"chunked body: line too long"};
      }
      line_ += c;
      continue;
    }
    std::string line = std::move(line_);
    line_.clear();
    if (!line.empty() && line.back() == '\r') {
      line.pop_back();
    }
    switch (state_) {
      case State::kSize: {
        size_t size = 0;
        size_t digits = 0;
        for (char h : line) {
          int v = (h >= '0' && h <= '9')   ? h - '0'
                  : (h >= 'a' && h <= 'f') ? h - 'a' + 10
                  : (h >= 'A' && h <= 'F') ? h - 'A' + 10
                                           : -1;
          if (v < 0) {
            break;  // ";extension" or trailing space
          }
          if (++digits > 15) {
            return Error{"chunked body: chunk size too large"};
          }
          size = size * 16 + static_cast<size_t>(v);
        }
        if (digits == 0) {
          return Error{"chunked body: bad chunk size line"};
        }
        remaining_ = size;
        state_ = size == 0 ? State::kTrailer : State::kData;
        break;
      }
      case State::kDataEnd:
        if (!line.empty()) {
          return Error{"chunked body: chunk data not followed by CRLF"};
        }
        state_ = State::kSize;
        break;
      case State::kTrailer:
        if (line.empty()) {
          state_ = State::kDone;
        }
        break;
      default:
        break;
    }
  }
  return {};
}

}  // namespace remora::pilot::kubernetes
