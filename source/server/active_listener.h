#pragma once

// One listener on one worker: accepts on the worker's own SO_REUSEPORT socket, runs listener
// filters, picks a filter chain, and owns the resulting connections until they close.

#include <list>
#include <memory>

#include "source/common/network/listen_socket.h"
#include "source/server/config_snapshot.h"

namespace remora::server {

class Worker;

class ActiveListener {
 public:
  ActiveListener(Worker& worker, ListenerConfigConstSharedPtr config, int listen_fd);
  ~ActiveListener();

  const ListenerConfig& config() const { return *config_; }
  // Stops accepting and closes the listening socket; open connections carry on.
  void stopAccepting() { tcp_listener_.reset(); }
  bool accepting() const { return tcp_listener_ != nullptr; }
  // Asks every open connection to finish and close (network::Connection::startDrain). With
  // `keep_accepting`, connections accepted from now on are drained as soon as they start.
  void startDrain(bool keep_accepting = false);
  // Whether accepting is paused for lack of descriptors or memory.
  bool backingOff() const { return tcp_listener_ != nullptr && tcp_listener_->backingOff(); }
  // Connections still open, and sockets still in listener filters.
  size_t connectionCount() const { return connections_.size() + pending_.size(); }

 private:
  class PendingSocket;
  class ActiveConnection;
  friend class PendingSocket;
  friend class ActiveConnection;

  // Counts the connection against this listener's and the process's limits (closing it when
  // either is reached) and starts the listener filters.
  void onAccept(int fd, const network::Address& local, const network::Address& remote);
  // accept() failed; `pause` > 0 when accepting now pauses for lack of resources.
  void onAcceptError(int error, std::chrono::milliseconds pause);
  // Listener filters are done: choose the chain and create the connection.
  void createConnection(int fd, const network::Address& local, const network::Address& remote,
                        const ConnectionMatchInfo& match);
  void removePending(PendingSocket& socket);
  void removeConnection(ActiveConnection& connection);

  Worker& worker_;
  ListenerConfigConstSharedPtr config_;
  bool draining_ = false;
  std::unique_ptr<network::TcpListener> tcp_listener_;
  std::list<std::unique_ptr<PendingSocket>> pending_;
  std::list<std::unique_ptr<ActiveConnection>> connections_;
};

}  // namespace remora::server
