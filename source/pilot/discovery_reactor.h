#pragma once

// One discovery stream on gRPC's callback API: the glue between gRPC's reactions and a
// session (DeltaSession or SotwSession) run by the PushPool.
//
// gRPC's threads only authenticate the stream, admit its first node, queue what it receives
// and write what the pool queued; the pool's workers handle the requests and compute the
// pushes (which may translate the proxy's configuration: too slow for gRPC's threads). One
// write is in flight at a time; the rest wait in order. A session that must end (its identity
// failed the recheck), a failed write or a cancelled call finishes the stream once nothing is
// in flight: Finish() ends what may touch the call, and OnDone() follows it.

#include <grpcpp/grpcpp.h>

#include <chrono>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>

#include "source/pilot/discovery_session.h"
#include "source/pilot/push_pool.h"

namespace remora::pilot {

template <class Session>
class DiscoveryReactor final
    : public grpc::ServerBidiReactor<typename Session::Request, typename Session::Response> {
 public:
  using Request = typename Session::Request;
  using Response = typename Session::Response;

  // Deletes itself when gRPC is done with the call.
  DiscoveryReactor(grpc::CallbackServerContext* context, PushPool& pool,
                   DiscoverySession::Context session_context)
      : context_(context), pool_(pool) {
    const auto* authenticator = session_context.authenticator;
    if (authenticator != nullptr) {
      session_context.identity.emplace();
      if (auto status = authenticator->authenticate(*context, *session_context.identity);
          !status.ok()) {
        this->Finish(status);
        return;
      }
    }
    stream_ = std::make_shared<Stream>(this, pool_, std::move(session_context));
    this->StartRead(&incoming_);
  }

  void OnReadDone(bool ok) override {
    if (!ok) {  // the client closed its side or went away
      stream_->finish(grpc::Status::OK);
      return;
    }
    if (first_) {
      first_ = false;
      const auto& session = stream_->sessionContext();
      if (session.authenticator != nullptr) {
        auto status = session.authenticator->admit(
            *context_, *session.identity, incoming_.has_node() ? &incoming_.node() : nullptr);
        if (!status.ok()) {
          stream_->finish(status);
          return;
        }
      }
      stream_->receive(std::move(incoming_));
      pool_.add(stream_);
    } else {
      stream_->receive(std::move(incoming_));
      pool_.schedule(stream_);
    }
    incoming_.Clear();
    if (stream_->beginRead()) {
      this->StartRead(&incoming_);
      stream_->endRead();
    }
  }

  void OnWriteDone(bool ok) override { stream_->written(ok); }
  void OnCancel() override {
    if (stream_) stream_->finish(grpc::Status::CANCELLED);
  }
  void OnDone() override {
    if (stream_) stream_->detach();
    delete this;
  }

 private:
  // What the pool runs; outlives the reactor when the pool still holds it.
  class Stream : public PushPool::Stream, public std::enable_shared_from_this<Stream> {
   public:
    Stream(DiscoveryReactor* reactor, PushPool& pool, DiscoverySession::Context context)
        : reactor_(reactor),
          pool_(pool),
          server_context_(reactor->context_),
          context_(std::move(context)) {}
    ~Stream() override { pool_.released(unanswered_bytes_); }

    const DiscoverySession::Context& sessionContext() const { return context_; }

    void receive(Request request) {
      size_t acknowledged = 0;
      {
        std::lock_guard<std::mutex> guard(lock_);
        // Every response is answered once (ACK or NACK), in order: the oldest response still
        // owed an answer has had it.
        if (!request.response_nonce().empty() && !unanswered_.empty()) {
          acknowledged = unanswered_.front();
          unanswered_.pop_front();
          unanswered_bytes_ -= acknowledged;
        }
        inbox_.push_back(std::move(request));
      }
      if (acknowledged != 0) pool_.released(acknowledged);
    }

    void run() override {
      std::deque<Request> requests;
      DiscoveryReactor* reactor;
      {
        std::lock_guard<std::mutex> guard(lock_);
        if (reactor_ == nullptr || finish_wanted_) return;
        reactor = reactor_;
        ++busy_;
        requests.swap(inbox_);
      }
      forgiveUnanswered();
      // The call (and its context) lives until Finish, which waits while busy_.
      if (!session_) session_.emplace(context_);
      for (const auto& request : requests) session_->onRequest(request);
      grpc::Status status = grpc::Status::OK;
      std::vector<Response> out;
      if (session_->servable()) {
        // The pod may be gone or changed since the last push, the certificate expired: then
        // serve nothing more. The client sees the stream end; its reconnect is refused.
        status = session_->recheck(*server_context_);
        if (status.ok() && mayPush()) session_->push(out);
      }
      // A push's responses count against the pool's limit until the proxy answers them.
      std::vector<size_t> sizes;
      size_t bytes = 0;
      for (const auto& response : out) {
        sizes.push_back(response.ByteSizeLong());
        bytes += sizes.back();
      }
      if (!out.empty()) ++pushes_;
      const Response* next;
      std::optional<grpc::Status> finish;
      size_t dropped = 0;
      {
        std::lock_guard<std::mutex> guard(lock_);
        --busy_;
        if (!status.ok()) {
          dropped = wantFinishLocked(status);
        } else if (!finish_wanted_) {
          for (auto& response : out) outbox_.push_back(std::move(response));
          if (unanswered_.empty()) unanswered_since_ = std::chrono::steady_clock::now();
          for (size_t size : sizes) unanswered_.push_back(size);
          unanswered_bytes_ += bytes;
          pool_.queued(bytes);
        }
        next = nextWriteLocked();
        finish = finishNowLocked();
      }
      if (dropped != 0) pool_.released(dropped);
      if (next != nullptr) reactor->StartWrite(next);
      if (finish) reactor->Finish(*finish);
    }

    void written(bool ok) {
      const Response* next;
      std::optional<grpc::Status> finish;
      DiscoveryReactor* reactor;
      size_t released = 0;
      bool again = false;
      {
        std::lock_guard<std::mutex> guard(lock_);
        reactor = reactor_;
        outbox_.pop_front();
        writing_ = false;
        if (!ok) released = wantFinishLocked(grpc::Status::OK);
        next = nextWriteLocked();
        finish = finishNowLocked();
        if (outbox_.empty() && deferred_ && !finish_wanted_) {
          deferred_ = false;
          again = true;
        }
      }
      if (released != 0) pool_.released(released);
      if (again) pool_.schedule(this->shared_from_this());
      if (next != nullptr) reactor->StartWrite(next);
      if (finish) reactor->Finish(*finish);
    }

    void finish(grpc::Status status) {
      std::optional<grpc::Status> finish;
      DiscoveryReactor* reactor;
      size_t dropped;
      {
        std::lock_guard<std::mutex> guard(lock_);
        reactor = reactor_;
        dropped = wantFinishLocked(std::move(status));
        finish = finishNowLocked();
      }
      pool_.released(dropped);
      if (finish) reactor->Finish(*finish);
    }

    // Around a StartRead: false when the stream is finishing (no more reads then).
    bool beginRead() {
      std::lock_guard<std::mutex> guard(lock_);
      if (finish_wanted_) return false;
      ++busy_;
      return true;
    }
    void endRead() {
      std::optional<grpc::Status> finish;
      DiscoveryReactor* reactor;
      {
        std::lock_guard<std::mutex> guard(lock_);
        reactor = reactor_;
        --busy_;
        finish = finishNowLocked();
      }
      if (finish) reactor->Finish(*finish);
    }

    void detach() {
      std::lock_guard<std::mutex> guard(lock_);
      reactor_ = nullptr;
    }

   private:
    // A proxy that does not answer its pushes within kAnswerTime no longer holds the pool's
    // bytes (it would otherwise keep other proxies' pushes waiting for ever).
    void forgiveUnanswered() {
      constexpr auto kAnswerTime = std::chrono::seconds(30);
      size_t forgiven = 0;
      {
        std::lock_guard<std::mutex> guard(lock_);
        if (unanswered_.empty() ||
            std::chrono::steady_clock::now() - unanswered_since_ < kAnswerTime) {
          return;
        }
        forgiven = unanswered_bytes_;
        unanswered_.clear();
        unanswered_bytes_ = 0;
      }
      pool_.released(forgiven);
    }
    // Only the pool runs it (one worker at a time). A stream computes no new push while its
    // last one is still being written (a slow proxy gets one push with everything that changed
    // meanwhile, not a queue of them), and its first pushes (the whole mesh) wait for their
    // turn under the pool's byte limit; a deferred stream runs again when its writes are done.
    bool mayPush() {
      {
        std::lock_guard<std::mutex> guard(lock_);
        if (!outbox_.empty()) {
          deferred_ = true;
          return false;
        }
      }
      // Once admitted, a proxy's first configuration is completed at once (its endpoints and
      // routes follow its clusters and listeners), so that few proxies are half-configured at
      // a time (each holding what it subscribed to meanwhile); every other push takes its turn
      // (a VirtualService change sends every proxy its route configurations: 11 MB each at
      // 10,000 services, 6 GB for 1,000 proxies if computed at once).
      if (pushes_ > 0 && pushes_ < kFirstPushes) return true;
      return pool_.mayPush(this->shared_from_this());
    }
    // Returns the bytes no longer owed an answer (the stream is ending: none will come).
    size_t wantFinishLocked(grpc::Status status) {
      if (finish_wanted_) return 0;
      finish_wanted_ = std::move(status);
      // Whatever waits is not sent (the write in flight, if any, stays until it completes).
      while (outbox_.size() > (writing_ ? 1u : 0u)) outbox_.pop_back();
      size_t owed = unanswered_bytes_;
      unanswered_.clear();
      unanswered_bytes_ = 0;
      return owed;
    }
    const Response* nextWriteLocked() {
      if (writing_ || outbox_.empty() || finish_wanted_) return nullptr;
      writing_ = true;
      return &outbox_.front();  // deque: stays put while more are appended
    }
    std::optional<grpc::Status> finishNowLocked() {
      if (!finish_wanted_ || finish_called_ || writing_ || busy_ > 0) return std::nullopt;
      finish_called_ = true;
      return finish_wanted_;
    }

    std::mutex lock_;
    DiscoveryReactor* reactor_;  // null after OnDone
    PushPool& pool_;
    grpc::CallbackServerContext* server_context_;
    DiscoverySession::Context context_;
    std::deque<Request> inbox_;
    std::deque<Response> outbox_;  // the front is being written while writing_
    // Sizes of the responses the proxy has not answered yet, and their sum (counted in the
    // pool's).
    std::deque<size_t> unanswered_;
    size_t unanswered_bytes_ = 0;
    std::chrono::steady_clock::time_point unanswered_since_;
    bool deferred_ = false;  // a push waits for the outbox to empty
    bool writing_ = false;
    // Pushes being computed and reads being started: the call must not finish under them.
    int busy_ = 0;
    std::optional<grpc::Status> finish_wanted_;
    bool finish_called_ = false;
    // CDS and LDS, then EDS and RDS for what they name: the first pushes carry the mesh.
    static constexpr uint64_t kFirstPushes = 4;
    // Only the pool touches these (one worker at a time).
    std::optional<Session> session_;
    uint64_t pushes_ = 0;  // runs that queued responses
  };

  grpc::CallbackServerContext* context_;
  PushPool& pool_;
  std::shared_ptr<Stream> stream_;  // null when refused before any read
  Request incoming_;
  bool first_ = true;
};

}  // namespace remora::pilot
