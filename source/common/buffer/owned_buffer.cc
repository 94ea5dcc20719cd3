#include "source/common/buffer/owned_buffer.h"

#include <sys/socket.h>
#include <sys/uio.h>

#include <algorithm>

#include <cerrno>
#include <cstdlib>

namespace remora::buffer {
namespace {

// Every Instance in the process is an OwnedBuffer; the cast keeps evbuffer out of the interface.
evbuffer* raw(const Instance& b);

}  // namespace

class OwnedBufferAccess {
 public:
  static evbuffer* get(const OwnedBuffer& b) { return b.buffer_; }
};

namespace {
evbuffer* raw(const Instance& b) {
  return OwnedBufferAccess::get(static_cast<const OwnedBuffer&>(b));
}
}  // namespace

OwnedBuffer::OwnedBuffer() : buffer_(evbuffer_new()) {
  if (buffer_ == nullptr) std::abort();
}

OwnedBuffer::OwnedBuffer(std::string_view data) : OwnedBuffer() { add(data); }

OwnedBuffer::~OwnedBuffer() { evbuffer_free(buffer_); }

OwnedBuffer::OwnedBuffer(OwnedBuffer&& other) noexcept : OwnedBuffer() {
  evbuffer_add_buffer(buffer_, other.buffer_);
}

OwnedBuffer& OwnedBuffer::operator=(OwnedBuffer&& other) noexcept {
  if (this != &other) {
    evbuffer_drain(buffer_, evbuffer_get_length(buffer_));
    evbuffer_add_buffer(buffer_, other.buffer_);
  }
  return *this;
}

void OwnedBuffer::add(const void* data, size_t size) { evbuffer_add(buffer_, data, size); }

void OwnedBuffer::add(std::string_view data) { evbuffer_add(buffer_, data.data(), data.size()); }

void OwnedBuffer::add(const Instance& other) {
  // evbuffer_add_buffer_reference would share chunks; a plain copy keeps ownership simple.
  size_t n = other.length();
  if (n == 0) return;
  std::string copy(n, '\0');
  other.copyOut(0, n, copy.data());
  add(copy);
}

void OwnedBuffer::move(Instance& other) { evbuffer_add_buffer(buffer_, raw(other)); }

void OwnedBuffer::move(Instance& other, size_t length) {
  evbuffer_remove_buffer(raw(other), buffer_, length);
}

void OwnedBuffer::drain(size_t size) { evbuffer_drain(buffer_, size); }

size_t OwnedBuffer::length() const { return evbuffer_get_length(buffer_); }

void OwnedBuffer::copyOut(size_t start, size_t size, void* out) const {
  if (size == 0) return;
  evbuffer_ptr pos;
  evbuffer_ptr_set(buffer_, &pos, start, EVBUFFER_PTR_SET);
  evbuffer_copyout_from(buffer_, &pos, out, size);
}

std::string OwnedBuffer::toString() const {
  std::string out(length(), '\0');
  copyOut(0, out.size(), out.data());
  return out;
}

std::string_view OwnedBuffer::frontSlice() const {
  evbuffer_iovec vec;
  if (evbuffer_peek(buffer_, -1, nullptr, &vec, 1) < 1) return {};
  return {static_cast<const char*>(vec.iov_base), vec.iov_len};
}

ssize_t OwnedBuffer::readFromFd(int fd, size_t max_length) {
  // Small reads (the requests and responses of most HTTP exchanges) go through a per-thread
  // scratch area and are appended at their real size: reserving max_length in the buffer for
  // each would cost a large malloc and free per read, which showed in profiles. Once reads
  // fill most of what was asked (a bulk transfer), read straight into reserved space and save
  // the copy; a short read switches back.
  constexpr size_t kScratchSize = 16 * 1024;
  if (!bulk_reads_) {
    thread_local char scratch[kScratchSize];
    size_t want = std::min(max_length, kScratchSize);
    ssize_t got = ::read(fd, scratch, want);
    if (got > 0) {
      evbuffer_add(buffer_, scratch, static_cast<size_t>(got));
      bulk_reads_ = static_cast<size_t>(got) == want && want == kScratchSize;
    }
    return got;
  }
  // evbuffer_read() caps a read at 4 KiB in libevent 2.1; reserve space and readv() instead.
  constexpr int kMaxVecs = 2;
  evbuffer_iovec vecs[kMaxVecs];
  int n = evbuffer_reserve_space(buffer_, static_cast<ev_ssize_t>(max_length), vecs, kMaxVecs);
  if (n <= 0) {
    errno = ENOMEM;
    return -1;
  }
  // The reserved space may exceed what was asked for; read no more than max_length.
  iovec iov[kMaxVecs];
  size_t room = max_length;
  int iov_count = 0;
  for (int i = 0; i < n && room > 0; ++i) {
    size_t len = std::min(room, vecs[i].iov_len);
    iov[iov_count++] = {vecs[i].iov_base, len};
    room -= len;
  }
  ssize_t got = ::readv(fd, iov, iov_count);
  if (got <= 0) {
    int saved = errno;
    evbuffer_commit_space(buffer_, vecs, 0);
    errno = saved;
    return got;
  }
  size_t left = static_cast<size_t>(got);
  int used = 0;
  for (; used < n && left > 0; ++used) {
    vecs[used].iov_len = std::min(left, vecs[used].iov_len);
    left -= vecs[used].iov_len;
  }
  evbuffer_commit_space(buffer_, vecs, used);
  if (static_cast<size_t>(got) < max_length / 4) bulk_reads_ = false;
  return got;
}

ssize_t OwnedBuffer::writeToFd(int fd) {
  constexpr int kMaxIov = 16;
  evbuffer_iovec vecs[kMaxIov];
  int n = evbuffer_peek(buffer_, -1, nullptr, vecs, kMaxIov);
  if (n <= 0) return 0;
  iovec iov[kMaxIov];
  int count = n < kMaxIov ? n : kMaxIov;
  for (int i = 0; i < count; ++i) {
    iov[i].iov_base = vecs[i].iov_base;
    iov[i].iov_len = vecs[i].iov_len;
  }
  // sendmsg with MSG_NOSIGNAL: a peer that went away is EPIPE, never SIGPIPE. Pipes and
  // other non-sockets fall back to writev.
  msghdr msg{};
  msg.msg_iov = iov;
  msg.msg_iovlen = count;
  ssize_t written = ::sendmsg(fd, &msg, MSG_NOSIGNAL);
  if (written < 0 && errno == ENOTSOCK) written = ::writev(fd, iov, count);
  if (written > 0) evbuffer_drain(buffer_, written);
  return written;
}

}  // namespace remora::buffer
