#pragma once

// Who is at the other end of a discovery stream on pilot's TLS port: the workload identity
// (SPIFFE ID spiffe://<trust-domain>/ns/<namespace>/sa/<service-account>) of the client
// certificate the TLS handshake verified against the mesh's roots.

#include <grpcpp/grpcpp.h>

#include <chrono>
#include <string>
#include <string_view>

#include "source/common/crypto/result.h"
#include "source/common/crypto/spiffe_id.h"

namespace remora::pilot::xds_auth {

struct PeerIdentity {
  crypto::SpiffeId id;
  // The certificate's notAfter: a stream is not served past it.
  std::chrono::system_clock::time_point not_after;
};

// The identity in the leaf certificate `leaf_pem` (PEM; further certificates are ignored).
// It must carry exactly one URI SAN, a workload SPIFFE ID of `trust_domain`. Errors say what
// is missing or wrong, quoting the ID.
crypto::Result<PeerIdentity> identityFromCertificate(std::string_view leaf_pem,
                                                     const std::string& trust_domain);

// The identity of a call's TLS peer. The server must have verified the certificate (pilot's
// TLS port asks for client certificates and verifies those it gets against the trust bundle);
// this only reads it. Errors: no client certificate (message starts "no client certificate"),
// or as identityFromCertificate.
crypto::Result<PeerIdentity> identityOfPeer(const grpc::AuthContext& auth,
                                            const std::string& trust_domain);

}  // namespace remora::pilot::xds_auth
