#include "source/common/network/connection_impl.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>

#include "source/common/common/logger.h"
#include "source/common/network/listen_socket.h"

namespace remora::network {
namespace {
std::atomic<uint64_t> g_next_connection_id{1};
}  // namespace

ConnectionImpl::ConnectionImpl(event::Dispatcher& dispatcher, int fd, Address local, Address remote,
                               TransportSocketPtr transport, bool connected)
    : dispatcher_(dispatcher),
      fd_(fd),
      connecting_(!connected),
      id_(g_next_connection_id.fetch_add(1, std::memory_order_relaxed)),
      local_(local),
      remote_(remote),
      transport_(std::move(transport)) {
  transport_->setCallbacks(*this);
  if (fd_ >= 0) {
    file_event_ = dispatcher_.createFileEvent(
        fd_, [this](uint32_t events) { onFileReady(events); }, 0);
    updateEvents();
  }
  if (connected) transport_->onConnected();
}

ConnectionImpl::~ConnectionImpl() {
  if (state_ != State::kClosed) {
    // Destroyed without close(): nobody is left to tell, so just release the socket.
    file_event_.reset();
    if (fd_ >= 0) ::close(fd_);
    if (stats_.active) stats_.active->dec();
  }
}

void ConnectionImpl::setStats(const ConnectionStats& stats) {
  stats_ = stats;
  if (stats_.total) stats_.total->inc();
  if (stats_.active) stats_.active->inc();
}

void ConnectionImpl::setHandshakeTimeout(std::chrono::milliseconds timeout) {
  if (timeout.count() == 0 || !handshakePending() || state_ == State::kClosed) return;
  handshake_timer_ = dispatcher_.createTimer([this] {
    if (state_ == State::kClosed || !handshakePending()) return;
    transport_->onHandshakeTimeout();
    setTransportFailureReason("TLS handshake timeout");
    closeSocket(ConnectionEvent::kLocalClose);
  });
  handshake_timer_->enable(timeout);
}

void ConnectionImpl::addConnectionCallbacks(ConnectionCallbacks& callbacks) {
  callbacks_.push_back(&callbacks);
}

void ConnectionImpl::removeConnectionCallbacks(ConnectionCallbacks& callbacks) {
  for (auto& cb : callbacks_) {
    // Nulled rather than erased: raiseEvent may be iterating the list right now.
    if (cb == &callbacks) cb = nullptr;
  }
}

void ConnectionImpl::addReadFilter(std::shared_ptr<ReadFilter> filter) {
  filter->initializeReadFilterCallbacks(*this);
  filters_.push_back(FilterEntry{std::move(filter), false});
}

void ConnectionImpl::startDrain() {
  // A filter may close the connection from onDrain(); the rest need not hear of it.
  for (size_t i = 0; i < filters_.size() && state_ != State::kClosed; ++i) {
    filters_[i].filter->onDrain();
  }
}

bool ConnectionImpl::initializeReadFilters() {
  if (filters_.empty()) return false;
  deliverToFilters(0);
  return state_ != State::kClosed;
}

void ConnectionImpl::continueReading() {
  // Resumes after the filter that stopped; the same bytes are not shown to it again.
  deliverToFilters(stopped_at_ + 1);
}

void ConnectionImpl::deliverToFilters(size_t first) {
  // Filters may close the connection or call continueReading() from inside onData(); the
  // outer iteration is the one that carries on.
  if (in_filter_iteration_) return;
  in_filter_iteration_ = true;
  for (size_t i = first; i < filters_.size(); ++i) {
    if (state_ == State::kClosed) break;
    auto& entry = filters_[i];
    if (!entry.initialized) {
      entry.initialized = true;
      if (entry.filter->onNewConnection() == ReadFilterStatus::kStop) {
        stopped_at_ = i;
        break;
      }
    }
    // Only with half-close do filters hear of the FIN; each filter hears of it once.
    bool end_stream = half_close_ && read_end_stream_ && !entry.saw_end_stream;
    if (read_buffer_.length() == 0 && !end_stream) continue;
    if (end_stream) entry.saw_end_stream = true;
    if (entry.filter->onData(read_buffer_, end_stream) == ReadFilterStatus::kStop) {
      stopped_at_ = i;
      break;
    }
  }
  in_filter_iteration_ = false;
  // The filters have had their chance to see the FIN (a stopping filter decides for the ones
  // after it, as with data); the read direction is finished.
  if (half_close_ && read_end_stream_) read_end_stream_delivered_ = true;
  if (state_ != State::kClosed) {
    maybeFinishHalfClose();
    if (state_ != State::kClosed) updateEvents();
  }
}

void ConnectionImpl::write(buffer::Instance& data, bool end_stream) {
  if (state_ != State::kOpen || write_end_stream_) {
    data.drain(data.length());
    return;
  }
  bool was_empty = write_buffer_.length() == 0;
  write_buffer_.move(data);
  if (end_stream) write_end_stream_ = true;
  if (was_empty && !connecting_) {
    // Written later in this loop iteration, once the current callback is done: what it writes
    // in several pieces (headers, then body) goes out in one sendmsg, and most writes fit in
    // the socket buffer at once, which saves turning write interest on and off.
    if (!flush_callback_) {
      flush_callback_ = dispatcher_.createSchedulableCallback([this] { flushWriteThrough(); });
    }
    flush_callback_->scheduleCallbackCurrentIteration();
    checkWatermarks();  // a large write must push back at once, not after the flush
    return;
  }
  checkWatermarks();
  updateEvents();
}

void ConnectionImpl::flushWriteThrough() {
  if (state_ == State::kClosed || connecting_) return;
  IoResult result = transport_->doWrite(write_buffer_, write_end_stream_);
  bytes_sent_ += result.bytes_processed;
  if (stats_.tx_bytes && result.bytes_processed) stats_.tx_bytes->add(result.bytes_processed);
  if (state_ == State::kClosed) return;  // a handshake failure reported by the transport
  if (result.action == PostIoAction::kClose) {
    setTransportFailureReason("write error");
    closeSocket(ConnectionEvent::kRemoteClose);
    return;
  }
  raiseHandshakeDone();
  if (state_ == State::kClosed) return;
  if (write_end_stream_ && write_buffer_.length() == 0 && transport_->canFlushWrite()) {
    write_shutdown_done_ = true;
  }
  checkWatermarks();
  if (state_ == State::kClosed) return;
  if (state_ == State::kClosing && write_buffer_.length() == 0) {
    closeSocket(ConnectionEvent::kLocalClose);
    return;
  }
  maybeFinishHalfClose();
  updateEvents();
}

void ConnectionImpl::close(ConnectionCloseType type) {
  if (state_ == State::kClosed) return;
  if (type == ConnectionCloseType::kNoFlush || write_buffer_.length() == 0 || connecting_) {
    closeSocket(ConnectionEvent::kLocalClose);
    return;
  }
  // Flush what is queued first; reading stops so no more work arrives meanwhile.
  state_ = State::kClosing;
  updateEvents();
}

void ConnectionImpl::readDisable(bool disable) {
  if (state_ == State::kClosed) return;
  if (disable) {
    ++read_disable_count_;
  } else if (read_disable_count_ > 0) {
    if (--read_disable_count_ == 0 && (read_buffer_.length() > 0 || read_end_stream_)) {
      // Data read before the pause is delivered on the next loop turn, not re-entrantly.
      if (!resume_timer_) resume_timer_ = dispatcher_.createTimer([this] { deliverToFilters(0); });
      resume_timer_->enable(std::chrono::milliseconds(0));
    }
  }
  updateEvents();
}

bool ConnectionImpl::shouldStopReading() const {
  return buffer_limit_ > 0 && read_buffer_.length() >= buffer_limit_;
}

void ConnectionImpl::raiseEvent(ConnectionEvent event) {
  if (event == ConnectionEvent::kConnected) connected_raised_ = true;
  forEachCallback([event](ConnectionCallbacks& cb) { cb.onEvent(event); });
}

void ConnectionImpl::raiseHandshakeDone() {
  // Not from inside the transport (as a client's is): a callback may close the connection,
  // and the transport would then carry on with a closed descriptor.
  if (connected_raised_ || !transport_->implementsSecureTransport()) return;
  if (transport_->ssl() == nullptr) return;
  if (handshake_timer_) handshake_timer_->disable();
  raiseEvent(ConnectionEvent::kConnected);
}

void ConnectionImpl::forEachCallback(const std::function<void(ConnectionCallbacks&)>& fn) {
  // By index over a list that only grows during the walk: callbacks removed meanwhile are
  // nulled (skipped), callbacks added meanwhile are told too.
  for (size_t i = 0; i < callbacks_.size(); ++i) {
    if (callbacks_[i] != nullptr) fn(*callbacks_[i]);
  }
}

void ConnectionImpl::updateEvents() {
  if (!file_event_ || state_ == State::kClosed) return;
  uint32_t events = 0;
  bool want_read = state_ == State::kOpen && read_disable_count_ == 0 && !read_end_stream_ &&
                   !connecting_ && !shouldStopReading();
  if (want_read) events |= event::kRead;
  bool shutdown_pending = write_end_stream_ && !write_shutdown_done_;
  // A half-close finished by a write-through completes in the next write event, never
  // inside the writer's stack.
  bool half_close_done = read_end_stream_delivered_ && write_shutdown_done_;
  bool flush_scheduled = flush_callback_ && flush_callback_->enabled();
  // While a handshake waits for the peer, queued bytes cannot go out: asking for write events
  // then would only spin.
  bool can_flush = transport_->canFlushWrite();
  if (!flush_scheduled && (connecting_ || (can_flush && (write_buffer_.length() > 0 ||
                                                         shutdown_pending || half_close_done)))) {
    events |= event::kWrite;
  }
  file_event_->setEnabled(events);
  if (want_read && transport_->hasPendingReadData()) {
    if (!pending_read_timer_) {
      pending_read_timer_ = dispatcher_.createTimer([this] {
        if (state_ == State::kOpen) onReadReady();
      });
    }
    pending_read_timer_->enable(std::chrono::milliseconds(0));
  }
}

void ConnectionImpl::setTransportFailureReason(const char* fallback) {
  std::string_view reason = transport_->failureReason();
  setFailureReason(reason.empty() ? std::string(fallback) : std::string(reason));
}

void ConnectionImpl::onFileReady(uint32_t events) {
  if (connecting_) {
    if (events & event::kWrite) onConnectFinished();
    return;
  }
  if ((events & event::kWrite) && state_ != State::kClosed) onWriteReady();
  if ((events & event::kRead) && state_ == State::kOpen) onReadReady();
}

void ConnectionImpl::onConnectFinished() {
  connecting_ = false;
  transport_->onConnected();
  if (state_ == State::kClosed) return;
  if (!transport_->failureReason().empty()) {
    // The transport could not even start (e.g. no certificate loaded yet).
    setTransportFailureReason("transport failed");
    closeSocket(ConnectionEvent::kRemoteClose);
    return;
  }
  // A secure transport raises kConnected itself once its handshake is done.
  if (!transport_->implementsSecureTransport()) raiseEvent(ConnectionEvent::kConnected);
  updateEvents();
}

void ConnectionImpl::onReadReady() {
  if (read_disable_count_ > 0 || read_end_stream_) return;
  IoResult result = transport_->doRead(read_buffer_);
  bytes_received_ += result.bytes_processed;
  if (stats_.rx_bytes && result.bytes_processed) stats_.rx_bytes->add(result.bytes_processed);
  if (state_ == State::kClosed) return;
  if (result.action == PostIoAction::kClose) {
    // Bytes decrypted before the failure still reach the filters.
    if (read_buffer_.length() > 0) deliverToFilters(0);
    if (state_ == State::kClosed) return;
    setTransportFailureReason("read error");
    closeSocket(ConnectionEvent::kRemoteClose);
    return;
  }
  // Before the bytes read with it reach the filters: a filter waiting for the peer's identity
  // decides first.
  raiseHandshakeDone();
  if (state_ == State::kClosed) return;
  if (result.end_stream_read) {
    read_end_stream_ = true;
    if (!half_close_) {
      // Without half-close a FIN ends the connection; filters still get what came before it.
      if (read_buffer_.length() > 0) deliverToFilters(0);
      if (state_ != State::kClosed) closeSocket(ConnectionEvent::kRemoteClose);
      return;
    }
  }
  if (result.bytes_processed > 0 || result.end_stream_read)
    deliverToFilters(0);
  else
    updateEvents();
}

void ConnectionImpl::onWriteReady() { flushWriteThrough(); }

void ConnectionImpl::maybeFinishHalfClose() {
  // Both directions finished cleanly: nothing more can happen on this connection.
  if (state_ == State::kOpen && read_end_stream_delivered_ && write_shutdown_done_) {
    closeSocket(ConnectionEvent::kRemoteClose);
  }
}

void ConnectionImpl::checkWatermarks() {
  if (buffer_limit_ == 0) return;
  size_t length = write_buffer_.length();
  if (!above_high_watermark_ && length > buffer_limit_) {
    above_high_watermark_ = true;
    forEachCallback([](ConnectionCallbacks& cb) { cb.onAboveWriteBufferHighWatermark(); });
  } else if (above_high_watermark_ && length <= buffer_limit_ / 2) {
    above_high_watermark_ = false;
    forEachCallback([](ConnectionCallbacks& cb) { cb.onBelowWriteBufferLowWatermark(); });
  }
}

void ConnectionImpl::closeSocket(ConnectionEvent event) {
  if (state_ == State::kClosed) return;
  state_ = State::kClosed;
  file_event_.reset();
  resume_timer_.reset();
  flush_callback_.reset();
  pending_read_timer_.reset();
  // Disabled, not destroyed: this may run inside the timer's own callback.
  if (handshake_timer_) handshake_timer_->disable();
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
  if (stats_.active) stats_.active->dec();
  onSocketClosed();
  raiseEvent(event);
}

ClientConnectionImpl::ClientConnectionImpl(event::Dispatcher& dispatcher, const Address& remote,
                                           TransportSocketPtr transport,
                                           std::chrono::milliseconds connect_timeout)
    : ConnectionImpl(dispatcher,
                     ::socket(remote.family(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0),
                     Address(), remote, std::move(transport), false),
      connect_timeout_(connect_timeout) {}

void ClientConnectionImpl::connect() {
  if (fd_ < 0) {
    pending_errno_ = errno;
  } else {
    int one = 1;
    setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    int rc = 0;
    if (source_address_.valid()) {
      // The port is picked at connect, per destination: binding first would take an ephemeral
      // port for every connection whatever its destination.
      if (source_address_.port() == 0) {
        setsockopt(fd_, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof(one));
      }
      rc = ::bind(fd_, source_address_.sockAddr(), source_address_.sockaddrLen());
    }
    if (rc == 0) rc = ::connect(fd_, remoteAddress().sockAddr(), remoteAddress().sockaddrLen());
    if (rc == 0 || errno == EINPROGRESS) {
      connect_timer_ = dispatcher_.createTimer([this] {
        if (state() == State::kClosed) return;
        setFailureReason(awaiting_handshake_ ? "connect timeout (TLS handshake)"
                                             : "connect timeout");
        awaiting_handshake_ = false;  // counted here
        // A timeout is also a connect failure, as in Envoy's upstream_cx_connect_fail.
        if (stats_.connect_timeout) stats_.connect_timeout->inc();
        if (stats_.connect_fail) stats_.connect_fail->inc();
        closeSocket(ConnectionEvent::kLocalClose);
      });
      connect_timer_->enable(connect_timeout_);
      updateEvents();
      return;
    }
    pending_errno_ = errno;
  }
  // Report an immediate failure on the next loop turn, so connect() never calls back into
  // its caller before returning.
  connect_timer_ = dispatcher_.createTimer([this] {
    if (state() == State::kClosed) return;
    setFailureReason(std::string("connect failed: ") + std::strerror(pending_errno_));
    if (stats_.connect_fail) stats_.connect_fail->inc();
    closeSocket(ConnectionEvent::kRemoteClose);
  });
  connect_timer_->enable(std::chrono::milliseconds(0));
}

void ClientConnectionImpl::onSocketClosed() {
  // Disabled, not destroyed: this may run inside the timer's own callback.
  if (connect_timer_) connect_timer_->disable();
  if (awaiting_handshake_) {
    awaiting_handshake_ = false;
    if (stats_.connect_fail) stats_.connect_fail->inc();
  }
}

void ClientConnectionImpl::raiseEvent(ConnectionEvent event) {
  if (event == ConnectionEvent::kConnected) {
    awaiting_handshake_ = false;
    if (connect_timer_) connect_timer_->disable();
  }
  ConnectionImpl::raiseEvent(event);
}

void ClientConnectionImpl::onConnectFinished() {
  int error = 0;
  socklen_t len = sizeof(error);
  if (getsockopt(fd_, SOL_SOCKET, SO_ERROR, &error, &len) != 0) error = errno;
  if (error != 0) {
    setFailureReason(std::string("connect failed: ") + std::strerror(error));
    if (stats_.connect_fail) stats_.connect_fail->inc();
    closeSocket(ConnectionEvent::kRemoteClose);
    return;
  }
  setLocalAddress(boundAddress(fd_));
  // The connect timeout also bounds a transport handshake (as Envoy's does).
  if (secureTransport()) {
    awaiting_handshake_ = true;
  } else {
    connect_timer_->disable();
  }
  ConnectionImpl::onConnectFinished();
}

}  // namespace remora::network
