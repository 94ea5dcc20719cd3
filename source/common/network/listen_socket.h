#pragma once

// Listening sockets and the accept loop.

#include <functional>
#include <string>

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
class TcpListener {
 public:
  // `on_accept` gets each accepted non-blocking socket with its local and peer addresses and
  // owns the descriptor from then on.
  using AcceptCb = std::function<void(int fd, const Address& local, const Address& remote)>;

  TcpListener(event::Dispatcher& dispatcher, int listen_fd, AcceptCb on_accept);
  ~TcpListener();

  // Pauses or resumes accepting (the kernel queues meanwhile, up to the backlog).
  void enable(bool enabled);

 private:
  void onReadable();

  int fd_;
  AcceptCb on_accept_;
  event::FileEventPtr event_;
};

}  // namespace remora::network
