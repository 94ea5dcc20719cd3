#pragma once

// TLS towards remora-pilot's TLS port, shared by the two clients the proxy has there: the
// workload identity agent (certificate requests; it trusts the bundle it assembles itself and
// presents no certificate) and the discovery stream (presents the workload certificate).
// Both verify pilot the same way: the mesh's roots and an exact DNS SAN, sent as SNI too.

#include <memory>
#include <string>

#include "remora/config/bootstrap/v1/bootstrap.pb.h"
#include "remora/extensions/transport_sockets/tls/v1/tls.pb.h"
#include "source/common/tls/secret_manager.h"
#include "source/common/tls/tls_socket_factory.h"
#include "source/interface/stats/stats.h"

namespace remora::identity {

inline constexpr char kDefaultControlPlaneName[] = "remora-pilot.istio-system.svc";

// SNI `server_name`, an exact DNS SAN match on it, ALPN h2 (gRPC servers insist on it). The
// caller adds the trust bundle's source (and a certificate to present, if any).
extensions::transport_sockets::tls::v1::UpstreamTlsContext controlPlaneTlsContext(
    const std::string& server_name);

// Adds the exact DNS SAN match on `server_name` that pilot's certificate must pass.
void expectControlPlaneName(
    const std::string& server_name,
    extensions::transport_sockets::tls::v1::CertificateValidationContext& validation);

// The name the discovery stream expects of pilot's certificate: ads_config's
// workload_identity_tls.server_name, else workload_identity.ca_server_name, else
// kDefaultControlPlaneName.
std::string discoveryServerName(const config::bootstrap::v1::Bootstrap& bootstrap);

// The discovery stream's transport as the workload identity: presents the secret `default`,
// verifies pilot with `ROOTCA` and `server_name`. Bound to `secrets` (which must have local
// secrets enabled, i.e. a workload identity agent), so a renewed certificate or changed trust
// bundle is used from the next connection on; not ready() until the first certificate is
// there. Null with `error` when it cannot be bound.
std::shared_ptr<tls::TlsSocketFactory> workloadIdentityTransport(const std::string& server_name,
                                                                 tls::SecretManager& secrets,
                                                                 stats::Store& store,
                                                                 std::string& error);

}  // namespace remora::identity
