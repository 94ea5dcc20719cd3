#pragma once

// Builds the transport socket factory a listener filter chain or a cluster names in its
// `transport_socket` (main thread, at config time).

#include <memory>
#include <string>

#include "remora/config/core/v1/base.pb.h"
#include "source/common/tls/secret_manager.h"
#include "source/interface/config/errors.h"
#include "source/interface/network/transport_socket.h"
#include "source/interface/stats/stats.h"

namespace remora::tls {

inline constexpr char kTlsTransportSocketName[] = "remora.transport_sockets.tls";
inline constexpr char kRawTransportSocketName[] = "remora.transport_sockets.raw_buffer";

// Null without errors for plaintext (no transport_socket, or raw_buffer). `upstream` picks
// UpstreamTlsContext (a cluster) over DownstreamTlsContext (a filter chain); `name` labels
// metrics and /certs. Errors go under `path` (the transport_socket field). `secrets` null
// means TLS is not available here (an error if asked for).
std::shared_ptr<network::TransportSocketFactory> createTransportSocketFactory(
    const config::core::v1::TypedExtensionConfig& config, bool upstream, const std::string& name,
    const std::string& path, SecretManager* secrets, stats::Store& store, config::Errors& errors);

}  // namespace remora::tls
