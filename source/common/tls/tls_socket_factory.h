#pragma once

// Creates TLS sockets for one listener filter chain or one cluster. Its current context is
// replaced (main thread) when a certificate or trust bundle changes; workers pick up the new
// one for their next connection without a lock, and open connections keep theirs, so a
// rotation drops nothing.

#include <array>
#include <atomic>
#include <memory>
#include <string>

#include "source/common/tls/context_config.h"
#include "source/common/tls/tls_context.h"
#include "source/common/tls/tls_stats.h"
#include "source/interface/network/transport_socket.h"

namespace remora::tls {

class TlsSocketFactory : public network::TransportSocketFactory {
 public:
  TlsSocketFactory(ContextSettings settings, std::shared_ptr<TlsStats> stats);

  // Main thread. Builds a context from `material` and makes it current. On failure the
  // current context stays and `error` says why.
  bool install(const ContextMaterial& material, std::string& error);
  // The two halves of install(): build a context (null with `error`), then make it current.
  std::shared_ptr<const TlsContext> build(const ContextMaterial& material,
                                          std::string& error) const;
  void adopt(std::shared_ptr<const TlsContext> context) { current_.store(std::move(context)); }
  // Null until a context was installed.
  std::shared_ptr<const TlsContext> current() const { return current_.load(); }
  const ContextSettings& settings() const { return settings_; }
  const std::shared_ptr<TlsStats>& stats() const { return stats_; }

  network::TransportSocketPtr createTransportSocket() const override;
  bool ready() const override { return current() != nullptr; }

 private:
  ContextSettings settings_;
  std::shared_ptr<TlsStats> stats_;
  TicketKeys ticket_keys_{};
  std::shared_ptr<ClientSessionCache> sessions_;
  std::atomic<std::shared_ptr<const TlsContext>> current_;
};

}  // namespace remora::tls
