#pragma once

// The command line of pilot's certificate authority: its flags with their defaults, the checks
// between them, and durations as people write them ("24h", "90s", "1h30m"). main.cc offers
// every flag it does not know to parseCaFlag().

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "source/common/crypto/result.h"
#include "source/pilot/ca/service_account_authenticator.h"

namespace remora::pilot::ca {

struct CaOptions {
  std::string listen = "127.0.0.1:15012";  // IP:PORT (port 0: any), or "off": no CA at all
  std::string ca_dir;                      // empty: an in-memory root (development only)
  std::string root_cert_out;               // empty: the trust bundle is not written anywhere
  std::string token_public_key;            // PEM file; empty: every request is unauthenticated
  std::string token_audience = "istio-ca";
  std::string token_issuer;  // empty: any issuer
  std::vector<std::string> hostnames = {"remora-pilot.istio-system.svc", "localhost"};
  std::chrono::seconds workload_cert_ttl = std::chrono::hours(24);
  std::chrono::seconds max_workload_cert_ttl = std::chrono::hours(48);
  // How long a replaced root stays trusted. Unset: the larger of 24h and
  // max_workload_cert_ttl (see rootOverlap()).
  std::optional<std::chrono::seconds> root_overlap;
  // Not a flag: how callers' tokens are checked when set (the --kubernetes mode passes a
  // TokenReviewAuthenticator); then token_public_key, token_audience and token_issuer are
  // unused. Unset: the static key of token_public_key (the folder mode's default).
  std::shared_ptr<const ServiceAccountAuthenticator> token_authenticator;

  bool enabled() const { return listen != "off"; }
  // The overlap in effect. It is never shorter than max_workload_cert_ttl: a leaf signed by
  // the old root just before a rotation stays valid that long, and must keep verifying.
  std::chrono::seconds rootOverlap() const;
};

// Whether `flag` is one of the CA's; if so, stores `value` in `options`, or sets `error` (and
// leaves `options` as it was) when the value is malformed.
bool parseCaFlag(const std::string& flag, const std::string& value, CaOptions& options,
                 std::string& error);

// The checks between flags: positive lifetimes, --workload-cert-ttl at most
// --max-workload-cert-ttl, an explicit --root-overlap at least --max-workload-cert-ttl.
// Errors name the flags and their values.
crypto::Status validateCaOptions(const CaOptions& options);

// The usage text of the CA's flags, in main.cc's format.
extern const char kCaUsage[];

// A duration: one or more <digits><unit> with unit s, m, h or d ("90s", "1h30m", "2d"), or
// "0". Errors quote the text.
crypto::Result<std::chrono::seconds> parseDuration(std::string_view text);

// `duration` the way parseDuration reads it, in its largest whole unit of h, m, s ("48h",
// "90m", "59s").
std::string formatDuration(std::chrono::seconds duration);

}  // namespace remora::pilot::ca
