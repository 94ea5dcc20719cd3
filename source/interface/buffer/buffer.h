#pragma once

// A byte queue with cheap appends at the back and drains at the front, used for connection
// read and write buffers. Moving data between buffers moves chunks without copying.

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace remora::buffer {

class Instance {
 public:
  virtual ~Instance() = default;

  virtual void add(const void* data, size_t size) = 0;
  virtual void add(std::string_view data) = 0;
  // Appends a copy of `other`'s bytes; `other` is unchanged.
  virtual void add(const Instance& other) = 0;
  // Moves all of `other`'s bytes to the back of this buffer, leaving `other` empty.
  virtual void move(Instance& other) = 0;
  // Moves up to `length` bytes from the front of `other`.
  virtual void move(Instance& other, size_t length) = 0;
  // Discards `size` bytes (at most length()) from the front.
  virtual void drain(size_t size) = 0;
  virtual size_t length() const = 0;
  // Copies `size` bytes starting at `start` into `out`; the range must be within length().
  virtual void copyOut(size_t start, size_t size, void* out) const = 0;
  virtual std::string toString() const = 0;
  // The first contiguous piece of the buffer, valid until the buffer is next changed; empty
  // only when the buffer is. Parsers walk a buffer with this and drain() instead of copying.
  virtual std::string_view frontSlice() const = 0;

  // Appends up to `max_length` bytes read from `fd` (one read). Returns what read(2) would:
  // bytes read, 0 at end of stream, -1 with errno set.
  virtual ssize_t readFromFd(int fd, size_t max_length) = 0;
  // Writes as much of the front as `fd` takes (one writev) and drains what was written.
  // Returns bytes written or -1 with errno set.
  virtual ssize_t writeToFd(int fd) = 0;
};
using InstancePtr = std::unique_ptr<Instance>;

}  // namespace remora::buffer
