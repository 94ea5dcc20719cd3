#include "source/common/tls/transport_socket_config.h"

#include "source/common/tls/tls_socket_factory.h"

namespace remora::tls {
namespace tlsv1 = extensions::transport_sockets::tls::v1;

std::shared_ptr<network::TransportSocketFactory> createTransportSocketFactory(
    const config::core::v1::TypedExtensionConfig& config, bool upstream, const std::string& name,
    const std::string& path, SecretManager* secrets, stats::Store& store, config::Errors& errors) {
  if (config.name().empty() && !config.has_typed_config()) return nullptr;
  if (config.name() == kRawTransportSocketName) return nullptr;
  if (config.name() != kTlsTransportSocketName) {
    errors.add(path + ".name", "unknown transport socket \"" + config.name() + "\" (expected " +
                                   kTlsTransportSocketName + " or " + kRawTransportSocketName +
                                   ")");
    return nullptr;
  }
  if (secrets == nullptr) {
    errors.add(path, "TLS is not available in this context");
    return nullptr;
  }
  std::string typed_path = path + ".typed_config";
  std::optional<ContextSettings> settings;
  if (upstream) {
    tlsv1::UpstreamTlsContext proto;
    if (!config.typed_config().UnpackTo(&proto)) {
      errors.add(typed_path, "must be a " + proto.GetTypeName());
      return nullptr;
    }
    settings = ContextSettings::fromUpstream(proto, typed_path, errors);
  } else {
    tlsv1::DownstreamTlsContext proto;
    if (!config.typed_config().UnpackTo(&proto)) {
      errors.add(typed_path, "must be a " + proto.GetTypeName());
      return nullptr;
    }
    settings = ContextSettings::fromDownstream(proto, typed_path, errors);
  }
  if (!settings) return nullptr;
  auto stats = std::make_shared<TlsStats>(store, upstream ? "upstream" : "downstream", name);
  auto factory = std::make_shared<TlsSocketFactory>(std::move(*settings), std::move(stats));
  if (!secrets->bind(factory, name, typed_path, errors, &store)) return nullptr;
  return factory;
}

}  // namespace remora::tls
