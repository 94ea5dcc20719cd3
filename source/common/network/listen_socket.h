#pragma once

// Listening sockets and the accept loop.

#include <chrono>
#include <functional>
#include <string>

#include "source/common/network/accept_backoff.h"
#include "source/interface/event/dispatcher.h"
#include "source/interface/network/address.h"

namespace remora::network {

// Creates a bound, listening, non-blocking socket. With `reuse_port`, several sockets can
// share one address and the kernel spreads connections between them. Returns -1 and sets
// `error` (naming the address) on failure.
int createListenSocket(const Address& address, bool reuse_port, std::string& error);

// The address a socket is bound to (the real port when bound to port 0).
Address boundAddress(int fd);

// Accepts connections on a listening socket owned by one worker. Closes the socket when
// destroyed.
//
// When the process runs out of descriptors (or the system of memory) accepting pauses and is
// retried after an AcceptBackoff delay, instead of spinning on an accept() that keeps
// failing; connections wait in the kernel's backlog meanwhile. The same happens when an
// accepted descriptor is at or above `descriptor_ceiling`: that connection is closed at once,
// so the descriptors above the ceiling stay free for what must keep working at the limit
// (the admin and readiness endpoints, the config stream, upstream connections of the
// connections already accepted).
class TcpListener {
 public:
  // `on_accept` gets each accepted non-blocking socket with its local and peer addresses and
  // owns the descriptor from then on.
  using AcceptCb = std::function<void(int fd, const Address& local, const Address& remote)>;
  // Told each time accepting pauses: the errno of the failed accept() (EMFILE for a
  // descriptor over the ceiling) and how long the pause lasts.
  using AcceptErrorCb = std::function<void(int error, std::chrono::milliseconds pause)>;

  // `descriptor_ceiling` 0: none.
  TcpListener(event::Dispatcher& dispatcher, int listen_fd, AcceptCb on_accept,
              AcceptErrorCb on_error = {}, int descriptor_ceiling = 0);
  ~TcpListener();

  // Pauses or resumes accepting (the kernel queues meanwhile, up to the backlog). A pause for
  // lack of resources ends by itself; enable(true) during it only takes effect after it.
  void enable(bool enabled);
  // Whether accepting is paused for lack of resources.
  bool backingOff() const { return backoff_timer_ != nullptr && backoff_timer_->enabled(); }

 private:
  void onReadable();
  void pause(int error);
  void updateEvent();

  int fd_;
  AcceptCb on_accept_;
  AcceptErrorCb on_error_;
  int descriptor_ceiling_;
  bool enabled_ = true;
  AcceptBackoff backoff_;
  event::FileEventPtr event_;
  event::TimerPtr backoff_timer_;
};

}  // namespace remora::network
