#include "source/common/tls/tls_socket_factory.h"

#include <openssl/rand.h>

#include "source/common/tls/ssl_socket.h"

namespace remora::tls {

TlsSocketFactory::TlsSocketFactory(ContextSettings settings, std::shared_ptr<TlsStats> stats)
    : settings_(std::move(settings)), stats_(std::move(stats)) {
  RAND_bytes(ticket_keys_.data(), static_cast<int>(ticket_keys_.size()));
  if (!settings_.server) sessions_ = std::make_shared<ClientSessionCache>();
}

std::shared_ptr<const TlsContext> TlsSocketFactory::build(const ContextMaterial& material,
                                                          std::string& error) const {
  return TlsContext::create(settings_, material, ticket_keys_, sessions_, error);
}

bool TlsSocketFactory::install(const ContextMaterial& material, std::string& error) {
  auto context = build(material, error);
  if (context == nullptr) return false;
  adopt(std::move(context));
  return true;
}

network::TransportSocketPtr TlsSocketFactory::createTransportSocket() const {
  return std::make_unique<SslSocket>(current_.load(), stats_);
}

}  // namespace remora::tls
