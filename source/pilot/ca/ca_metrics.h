#pragma once

// The CA's Prometheus metrics: certificate requests by outcome, and how long until each
// trusted root expires (an alert on it gives time to rotate).
//
// Thread-safe: count() is called from the signing threads, render() from the scrape.

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>

#include "source/common/crypto/certificate_authority.h"

namespace remora::pilot::ca {

enum class CsrResult {
  kIssued,
  kUnauthenticated,   // no token, or one that does not verify
  kPermissionDenied,  // a valid token, but the CSR asks for another identity
  kInvalid,           // a malformed CSR or duration
  kError,             // the CA could not sign (its root expired, an OpenSSL failure)
};
inline constexpr size_t kCsrResultCount = 5;

class CaMetrics {
 public:
  void count(CsrResult result) {
    counts_[static_cast<size_t>(result)].fetch_add(1, std::memory_order_relaxed);
  }
  uint64_t countOf(CsrResult result) const {
    return counts_[static_cast<size_t>(result)].load(std::memory_order_relaxed);
  }

  // Prometheus text exposition: pilot_ca_csr_total{result} (every result, zeros
  // included, so rates work from the first scrape) and
  // pilot_ca_root_cert_expiry_seconds{serial,signing} per root trusted by `authority`.
  std::string render(const crypto::CertificateAuthority& authority,
                     std::chrono::system_clock::time_point now) const;

 private:
  std::array<std::atomic<uint64_t>, kCsrResultCount> counts_{};
};

}  // namespace remora::pilot::ca
