#include "source/common/network/raw_transport_socket.h"

#include <sys/socket.h>

#include <cerrno>

namespace remora::network {
namespace {
// One read at most this large (one evbuffer chunk); the connection's buffer limit bounds the
// total per event.
constexpr size_t kReadChunk = 16 * 1024;
}  // namespace

IoResult RawTransportSocket::doRead(buffer::Instance& buffer) {
  IoResult result;
  while (!callbacks_->shouldStopReading()) {
    ssize_t n = buffer.readFromFd(callbacks_->fd(), kReadChunk);
    if (n > 0) {
      result.bytes_processed += n;
      // A short read means the socket is drained for now; skip the read that would only
      // say EAGAIN (level-triggered events report anything that arrives later).
      if (static_cast<size_t>(n) < kReadChunk) break;
      continue;
    }
    if (n == 0) {
      result.end_stream_read = true;
    } else if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
      result.action = PostIoAction::kClose;
    }
    break;
  }
  return result;
}

IoResult RawTransportSocket::doWrite(buffer::Instance& buffer, bool end_stream) {
  IoResult result;
  while (buffer.length() > 0) {
    ssize_t n = buffer.writeToFd(callbacks_->fd());
    if (n > 0) {
      result.bytes_processed += n;
      continue;
    }
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) return result;
    result.action = PostIoAction::kClose;
    return result;
  }
  if (end_stream) ::shutdown(callbacks_->fd(), SHUT_WR);
  return result;
}

}  // namespace remora::network
