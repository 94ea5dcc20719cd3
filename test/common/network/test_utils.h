#pragma once

// Helpers for tests that drive real loopback connections on one dispatcher: run the loop until a
// condition holds (with a deadline), and record what connections and their filters saw.

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <ostream>
#include <string>
#include <vector>

#include "source/common/network/connection_impl.h"
#include "source/common/network/listen_socket.h"
#include "source/interface/event/dispatcher.h"
#include "source/interface/network/address.h"
#include "source/interface/network/connection.h"
#include "source/interface/network/filter.h"

namespace remora::network {

// Readable gtest failure messages.
inline void PrintTo(const Address& address, std::ostream* os) {
  *os << (address.valid() ? address.asString() : std::string("(no address)"));
}
inline void PrintTo(ConnectionEvent event, std::ostream* os) {
  constexpr const char* kNames[] = {"kRemoteClose", "kLocalClose", "kConnected"};
  *os << kNames[static_cast<int>(event)];
}

namespace test {

// Runs `dispatcher` until `done` holds (checked every millisecond) or `timeout` passes.
// Returns whether `done` holds, so tests can ASSERT on it.
bool runUntil(event::Dispatcher& dispatcher, const std::function<bool()>& done,
              std::chrono::milliseconds timeout = std::chrono::seconds(10));

// Runs `dispatcher` for `n` loop iterations, each of which polls for I/O. Used to show that
// something does NOT happen once its trigger is known to be pending (e.g. bytes in the kernel).
void runLoopTurns(event::Dispatcher& dispatcher, int n);

// Runs `dispatcher` for `duration`. Only for asserting that a timer did not fire.
void runFor(event::Dispatcher& dispatcher, std::chrono::milliseconds duration);

// Bytes waiting in `fd`'s kernel receive queue.
int pendingBytes(int fd);

// `size` bytes of a position-dependent pattern, so reordering or loss shows up in comparisons.
std::string patternBytes(size_t size);

// Shrinks the kernel send or receive buffer so that backpressure starts after kilobytes, not
// megabytes.
void shrinkSocketBuffers(int fd, int bytes);

// A read filter that records everything it is given.
class RecordingFilter : public ReadFilter {
 public:
  void initializeReadFilterCallbacks(ReadFilterCallbacks& callbacks) override {
    callbacks_ = &callbacks;
  }
  ReadFilterStatus onNewConnection() override;
  ReadFilterStatus onData(buffer::Instance& data, bool end_stream) override;

  ReadFilterCallbacks& callbacks() { return *callbacks_; }

  // When false, onData leaves the bytes in the buffer and returns kStop.
  bool drain = true;
  // When true, drained bytes are written back on the same connection.
  bool echo = false;
  std::string received;
  // Length of the connection's read buffer at the latest onData call.
  size_t last_buffer_length = 0;
  int new_connection_calls = 0;
  int data_calls = 0;
  int end_stream_calls = 0;

 private:
  ReadFilterCallbacks* callbacks_ = nullptr;
};

// Connection callbacks that record events and watermark crossings.
class RecordingCallbacks : public ConnectionCallbacks {
 public:
  void onEvent(ConnectionEvent event) override { events.push_back(event); }
  void onAboveWriteBufferHighWatermark() override { ++above_high; }
  void onBelowWriteBufferLowWatermark() override { ++below_low; }

  bool saw(ConnectionEvent event) const;
  bool closed() const {
    return saw(ConnectionEvent::kRemoteClose) || saw(ConnectionEvent::kLocalClose);
  }

  std::vector<ConnectionEvent> events;
  int above_high = 0;
  int below_low = 0;
};

// One end of a test connection: the connection with a RecordingFilter and RecordingCallbacks.
template <class ConnectionType>
struct TestEnd {
  RecordingCallbacks callbacks;
  std::shared_ptr<RecordingFilter> filter = std::make_shared<RecordingFilter>();
  std::unique_ptr<ConnectionType> connection;
};
using ServerEnd = TestEnd<ConnectionImpl>;
using ClientEnd = TestEnd<ClientConnectionImpl>;

// A listener on 127.0.0.1:0 whose accepted sockets become server-side ConnectionImpls with a
// RecordingFilter (last in the chain, already initialized) and RecordingCallbacks.
class LoopbackServer {
 public:
  // `on_accept` runs before the RecordingFilter is added and the filters are initialized, to
  // configure the connection or add filters ahead of the recording one.
  explicit LoopbackServer(event::Dispatcher& dispatcher,
                          std::function<void(ServerEnd&)> on_accept = nullptr);

  const Address& address() const { return address_; }
  TcpListener& listener() { return *listener_; }
  std::vector<std::unique_ptr<ServerEnd>>& accepted() { return accepted_; }
  ServerEnd& only() { return *accepted_.at(0); }

 private:
  event::Dispatcher& dispatcher_;
  std::function<void(ServerEnd&)> on_accept_;
  Address address_;
  std::vector<std::unique_ptr<ServerEnd>> accepted_;
  std::unique_ptr<TcpListener> listener_;
};

// A client connection to `address` with its filter added (not initialized) and callbacks
// registered; connect() has not been called.
std::unique_ptr<ClientEnd> makeClient(
    event::Dispatcher& dispatcher, const Address& address,
    std::chrono::milliseconds connect_timeout = std::chrono::seconds(5));

// Connects `client` and initializes its filters; false if it did not reach kConnected.
bool connectClient(event::Dispatcher& dispatcher, ClientEnd& client);

}  // namespace test
}  // namespace remora::network
