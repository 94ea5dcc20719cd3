#include "source/common/network/listen_socket.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace remora::network {

int createListenSocket(const Address& address, bool reuse_port, std::string& error) {
  int fd = ::socket(address.family(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    error = std::string("socket(): ") + std::strerror(errno);
    return -1;
  }
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  if (reuse_port) setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));
  if (address.family() == AF_INET6) setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
  if (::bind(fd, address.sockAddr(), address.sockaddrLen()) != 0) {
    error = "cannot bind " + address.asString() + ": " + std::strerror(errno);
    ::close(fd);
    return -1;
  }
  if (::listen(fd, SOMAXCONN) != 0) {
    error = "cannot listen on " + address.asString() + ": " + std::strerror(errno);
    ::close(fd);
    return -1;
  }
  return fd;
}

Address boundAddress(int fd) {
  sockaddr_storage ss;
  socklen_t len = sizeof(ss);
  if (getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len) != 0) return Address();
  return Address::fromSockaddr(reinterpret_cast<sockaddr*>(&ss), len).value_or(Address());
}

bool isResourceExhaustion(int error) {
  return error == EMFILE || error == ENFILE || error == ENOBUFS || error == ENOMEM;
}

TcpListener::TcpListener(event::Dispatcher& dispatcher, int listen_fd, AcceptCb on_accept,
                         AcceptErrorCb on_error, int descriptor_ceiling)
    : fd_(listen_fd),
      on_accept_(std::move(on_accept)),
      on_error_(std::move(on_error)),
      descriptor_ceiling_(descriptor_ceiling) {
  event_ = dispatcher.createFileEvent(
      fd_, [this](uint32_t) { onReadable(); }, event::kRead);
  backoff_timer_ = dispatcher.createTimer([this] { updateEvent(); });
}

TcpListener::~TcpListener() {
  backoff_timer_.reset();
  event_.reset();
  ::close(fd_);
}

void TcpListener::enable(bool enabled) {
  enabled_ = enabled;
  updateEvent();
}

void TcpListener::updateEvent() {
  bool on = enabled_ && !backingOff();
  event_->setEnabled(on ? static_cast<uint32_t>(event::kRead) : 0u);
}

void TcpListener::pause(int error) {
  std::chrono::milliseconds delay = backoff_.onFailure();
  backoff_timer_->enable(delay);
  updateEvent();
  if (on_error_) on_error_(error, delay);
}

void TcpListener::onReadable() {
  // Bounded so one busy listener cannot starve the worker's other connections.
  for (int i = 0; i < 64; ++i) {
    sockaddr_storage remote;
    socklen_t remote_len = sizeof(remote);
    int fd = ::accept4(fd_, reinterpret_cast<sockaddr*>(&remote), &remote_len,
                       SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      int error = errno;
      if (error == EAGAIN || error == EWOULDBLOCK) return;
      if (error == EINTR || error == ECONNABORTED) continue;
      if (isResourceExhaustion(error)) {
        pause(error);
        return;
      }
      // Errors about this one connection (EPERM from a firewall rule, EPROTO): it is gone
      // from the queue; go on with the next.
      if (on_error_) on_error_(error, std::chrono::milliseconds(0));
      continue;
    }
    if (descriptor_ceiling_ > 0 && fd >= descriptor_ceiling_) {
      // Descriptors are handed out lowest first: every one below the ceiling is in use.
      ::close(fd);
      pause(EMFILE);
      return;
    }
    backoff_.onSuccess();
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    auto remote_address =
        Address::fromSockaddr(reinterpret_cast<sockaddr*>(&remote), remote_len).value_or(Address());
    on_accept_(fd, boundAddress(fd), remote_address);
  }
}

}  // namespace remora::network
