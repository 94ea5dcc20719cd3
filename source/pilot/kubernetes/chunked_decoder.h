#pragma once

// The HTTP/1.1 chunked transfer coding (RFC 9112 section 7.1), decoded incrementally: bytes
// go in as they come off the connection, chunk data comes out as soon as it is there, so a
// watch stream's events are seen without waiting for a chunk (or the body) to end.
// Extensions and trailers are skipped.

#include <functional>
#include <string>
#include <string_view>

#include "source/common/crypto/result.h"

namespace remora::pilot::kubernetes {

class ChunkedDecoder {
 public:
  // Decodes `bytes`, calling `on_data` with each piece of chunk data. Errors (a malformed size
  // line or CRLF) are final.
  crypto::Status feed(std::string_view bytes, const std::function<void(std::string_view)>& on_data);

  // The last chunk and the trailers have been read.
  bool done() const { return state_ == State::kDone; }

 private:
  enum class State { kSize, kData, kDataEnd, kTrailer, kDone };
  State state_ = State::kSize;
  std::string line_;      // the size or trailer line read so far
  size_t remaining_ = 0;  // data bytes left in this chunk
};

}  // namespace remora::pilot::kubernetes
