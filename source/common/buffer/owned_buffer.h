#pragma once

// buffer::Instance over a libevent evbuffer: a chain of chunks, so appends, drains and moves
// between buffers don't copy payload bytes.

#include <event2/buffer.h>

#include "source/interface/buffer/buffer.h"

namespace remora::buffer {

class OwnedBufferAccess;

class OwnedBuffer : public Instance {
 public:
  OwnedBuffer();
  explicit OwnedBuffer(std::string_view data);
  ~OwnedBuffer() override;
  OwnedBuffer(const OwnedBuffer&) = delete;
  OwnedBuffer& operator=(const OwnedBuffer&) = delete;
  // Takes `other`'s bytes without copying; `other` is left empty and usable.
  OwnedBuffer(OwnedBuffer&& other) noexcept;
  OwnedBuffer& operator=(OwnedBuffer&& other) noexcept;

  void add(const void* data, size_t size) override;
  void add(std::string_view data) override;
  void add(const Instance& other) override;
  void move(Instance& other) override;
  void move(Instance& other, size_t length) override;
  void drain(size_t size) override;
  size_t length() const override;
  void copyOut(size_t start, size_t size, void* out) const override;
  std::string toString() const override;
  std::string_view frontSlice() const override;
  ssize_t readFromFd(int fd, size_t max_length) override;
  ssize_t writeToFd(int fd) override;

 private:
  friend class OwnedBufferAccess;
  evbuffer* buffer_;
  // Whether recent reads filled most of what was asked (a bulk transfer); see readFromFd.
  bool bulk_reads_ = false;
};

}  // namespace remora::buffer
