#include "test/common/network/test_utils.h"

#include <sys/ioctl.h>
#include <sys/socket.h>

#include <csignal>
#include <cstdlib>

#include "source/common/network/raw_transport_socket.h"

namespace remora::network::test {
namespace {

// Connections write with writev(); like the server (source/server/server.cc), tests must not
// die of SIGPIPE when a peer has gone.
void ignoreSigpipe() { std::signal(SIGPIPE, SIG_IGN); }

}  // namespace

bool runUntil(event::Dispatcher& dispatcher, const std::function<bool()>& done,
              std::chrono::milliseconds timeout) {
  if (done()) return true;
  event::TimerPtr poll;
  poll = dispatcher.createTimer([&] {
    if (done()) {
      dispatcher.exit();
    } else {
      poll->enable(std::chrono::milliseconds(1));
    }
  });
  poll->enable(std::chrono::milliseconds(0));
  event::TimerPtr deadline = dispatcher.createTimer([&] { dispatcher.exit(); });
  deadline->enable(timeout);
  dispatcher.run();
  return done();
}

void runLoopTurns(event::Dispatcher& dispatcher, int n) {
  // A zero-delay timer fires once per loop iteration, after that iteration's I/O poll.
  int remaining = n;
  event::TimerPtr turn;
  turn = dispatcher.createTimer([&] {
    if (--remaining <= 0) {
      dispatcher.exit();
    } else {
      turn->enable(std::chrono::milliseconds(0));
    }
  });
  turn->enable(std::chrono::milliseconds(0));
  dispatcher.run();
}

void runFor(event::Dispatcher& dispatcher, std::chrono::milliseconds duration) {
  event::TimerPtr stop = dispatcher.createTimer([&] { dispatcher.exit(); });
  stop->enable(duration);
  dispatcher.run();
}

int pendingBytes(int fd) {
  int n = 0;
  if (::ioctl(fd, FIONREAD, &n) != 0) return -1;
  return n;
}

std::string patternBytes(size_t size) {
  std::string out(size, '\0');
  for (size_t i = 0; i < size; ++i) out[i] = static_cast<char>((i * 131 + i / 4099) & 0xff);
  return out;
}

void shrinkSocketBuffers(int fd, int bytes) {
  ::setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &bytes, sizeof(bytes));
  ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &bytes, sizeof(bytes));
}

ReadFilterStatus RecordingFilter::onNewConnection() {
  ++new_connection_calls;
  return ReadFilterStatus::kContinue;
}

ReadFilterStatus RecordingFilter::onData(buffer::Instance& data, bool end_stream) {
  ++data_calls;
  if (end_stream) ++end_stream_calls;
  last_buffer_length = data.length();
  if (!drain) return ReadFilterStatus::kStop;
  std::string chunk = data.toString();
  data.drain(data.length());
  received += chunk;
  if (echo && !chunk.empty()) {
    buffer::OwnedBuffer reply(chunk);
    callbacks_->connection().write(reply, false);
  }
  return ReadFilterStatus::kContinue;
}

bool RecordingCallbacks::saw(ConnectionEvent event) const {
  for (auto e : events) {
    if (e == event) return true;
  }
  return false;
}

LoopbackServer::LoopbackServer(event::Dispatcher& dispatcher,
                               std::function<void(ServerEnd&)> on_accept)
    : dispatcher_(dispatcher), on_accept_(std::move(on_accept)) {
  ignoreSigpipe();
  std::string error;
  int fd = createListenSocket(*Address::fromIpPort("127.0.0.1", 0), false, error);
  if (fd < 0) std::abort();
  address_ = boundAddress(fd);
  listener_ = std::make_unique<TcpListener>(
      dispatcher_, fd, [this](int accepted_fd, const Address& local, const Address& remote) {
        auto end = std::make_unique<ServerEnd>();
        end->connection = std::make_unique<ConnectionImpl>(
            dispatcher_, accepted_fd, local, remote, std::make_unique<RawTransportSocket>(), true);
        end->connection->addConnectionCallbacks(end->callbacks);
        if (on_accept_) on_accept_(*end);
        end->connection->addReadFilter(end->filter);
        end->connection->initializeReadFilters();
        accepted_.push_back(std::move(end));
      });
}

std::unique_ptr<ClientEnd> makeClient(event::Dispatcher& dispatcher, const Address& address,
                                      std::chrono::milliseconds connect_timeout) {
  ignoreSigpipe();
  auto end = std::make_unique<ClientEnd>();
  end->connection = std::make_unique<ClientConnectionImpl>(
      dispatcher, address, std::make_unique<RawTransportSocket>(), connect_timeout);
  end->connection->addConnectionCallbacks(end->callbacks);
  end->connection->addReadFilter(end->filter);
  return end;
}

bool connectClient(event::Dispatcher& dispatcher, ClientEnd& client) {
  client.connection->connect();
  bool done = runUntil(dispatcher, [&] { return !client.callbacks.events.empty(); });
  if (!done || !client.callbacks.saw(ConnectionEvent::kConnected)) return false;
  return client.connection->initializeReadFilters();
}

}  // namespace remora::network::test
