#include "source/pilot/xds_auth/peer_identity.h"

#include <grpc/grpc_security_constants.h>

#include "source/common/crypto/certificate_info.h"

namespace remora::pilot::xds_auth {

using crypto::Error;

crypto::Result<PeerIdentity> identityFromCertificate(std::string_view leaf_pem,
                                                     const std::string& trust_domain) {
  auto chain = crypto::parseCertificateChain(leaf_pem);
  if (!chain.ok()) return Error{"client certificate: " + chain.error()};
  const crypto::CertificateInfo& leaf = chain->front();
  const std::vector<std::string> uris = leaf.uriSans();
  // One identity per certificate, as the mesh's CA issues them: with two, which one the
  // certificate "is" would be a guess.
  if (uris.size() != 1) {
    return Error{"client certificate carries " + std::to_string(uris.size()) +
                 " URI SANs; a workload certificate has exactly one SPIFFE ID"};
  }
  auto id = crypto::SpiffeId::parse(uris.front());
  if (!id.ok()) return Error{"client certificate: " + id.error()};
  if (id->trust_domain != trust_domain) {
    return Error{"client certificate identity " + crypto::quoteForMessage(uris.front()) +
                 " is not of the mesh's trust domain " + crypto::quoteForMessage(trust_domain)};
  }
  return PeerIdentity{std::move(*id), leaf.not_after};
}

crypto::Result<PeerIdentity> identityOfPeer(const grpc::AuthContext& auth,
                                            const std::string& trust_domain) {
  const auto certs = auth.FindPropertyValues(GRPC_X509_PEM_CERT_PROPERTY_NAME);
  if (certs.empty()) {
    return Error{"no client certificate: discovery on this port needs the workload certificate"};
  }
  return identityFromCertificate(std::string_view(certs.front().data(), certs.front().size()),
                                 trust_domain);
}

}  // namespace remora::pilot::xds_auth
