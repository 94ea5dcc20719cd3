#include "source/pilot/ca/ca_metrics.h"

#include "source/common/crypto/certificate_info.h"
#include "source/pilot/ca/ca_roots.h"

namespace remora::pilot::ca {

namespace {

constexpr const char* kResultNames[kCsrResultCount] = {"issued", "unauthenticated",
                                                       "permission_denied", "invalid", "error"};

}  // namespace

std::string CaMetrics::render(const crypto::CertificateAuthority& authority,
                              std::chrono::system_clock::time_point now) const {
  std::string out;
  out += "# HELP pilot_ca_csr_total Certificate signing requests to the CA, by outcome.\n";
  out += "# TYPE pilot_ca_csr_total counter\n";
  for (size_t i = 0; i < kCsrResultCount; ++i) {
    out += std::string("pilot_ca_csr_total{result=\"") + kResultNames[i] + "\"} " +
           std::to_string(counts_[i].load(std::memory_order_relaxed)) + "\n";
  }
  out +=
      "# HELP pilot_ca_root_cert_expiry_seconds Seconds until a trusted root "
      "certificate expires (signing=\"true\" for the one that signs).\n";
  out += "# TYPE pilot_ca_root_cert_expiry_seconds gauge\n";
  const std::vector<std::string> roots = trustBundle(authority);
  for (size_t i = 0; i < roots.size(); ++i) {
    auto info = crypto::parseCertificateChain(roots[i]);
    if (!info.ok()) continue;
    // Serials are uppercase hex: nothing in them needs escaping in a label value.
    out += "pilot_ca_root_cert_expiry_seconds{serial=\"" + info->front().serial_hex +
           "\",signing=\"" + (i == 0 ? "true" : "false") + "\"} " +
           std::to_string(info->front().secondsUntilExpiry(now)) + "\n";
  }
  return out;
}

}  // namespace remora::pilot::ca
