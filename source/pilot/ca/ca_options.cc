#include "source/pilot/ca/ca_options.h"

#include <algorithm>

namespace remora::pilot::ca {

using crypto::Error;
using std::chrono::seconds;

const char kCaUsage[] =
    "certificate authority (workload certificates over TLS gRPC):\n"
    "  --ca-listen IP:PORT|off  default 127.0.0.1:15012; port 0: any (logged)\n"
    "  --ca-dir DIR             ca-cert.pem + ca-key.pem (plug-in root), or where a generated\n"
    "                           root is kept; watched for a new root. Default: in-memory root\n"
    "  --root-cert-out FILE     trust bundle (PEM) written here at start and on every change\n"
    "  --token-public-key FILE  PEM key(s) verifying callers' tokens (RS256/ES256)\n"
    "  --token-audience AUD     default istio-ca\n"
    "  --token-issuer ISS       required token issuer; default any\n"
    "  --ca-hostnames A,B       DNS names of the CA's serving certificate; default\n"
    "                           remora-pilot.istio-system.svc,localhost\n"
    "  --workload-cert-ttl DUR  default 24h\n"
    "  --max-workload-cert-ttl DUR  longer requests are capped; default 48h\n"
    "  --root-overlap DUR       a replaced root stays trusted this long; at least\n"
    "                           --max-workload-cert-ttl; default max(24h, that)\n"
    "remora-pilot mint-token --key PRIVATE_KEY_PEM --namespace NS --service-account SA\n"
    "                        [--audience istio-ca] [--issuer ISS] [--ttl 1h]\n"
    "  prints a token shaped like a Kubernetes projected service-account token\n";

seconds CaOptions::rootOverlap() const {
  if (root_overlap) {
    return *root_overlap;
  }
  return std::max<seconds>(std::chrono::hours(24), max_workload_cert_ttl);
}

crypto::Result<seconds> parseDuration(std::string_view text) {
  auto bad = [&] {
    return Error{"duration " + crypto::quoteForMessage(text) +
                 " is not like 90s, 30m, 24h, 2d or 1h30m"};
  };
  if (text == "0") {
    return seconds(0);
  }
  if (text.empty()) {
    return bad();
  }
  // Capped far below int64 so that the sum and the conversions to time points cannot overflow.
  constexpr int64_t kMax = int64_t{100} * 365 * 24 * 3600;
  int64_t total = 0;
  size_t at = 0;
  while (at < text.size()) {
    int64_t number = 0;
    size_t digits = 0;
    for (; at < text.size() && text[at] >= '0' && text[at] <= '9'; ++at, ++digits) {
      number = number * 10 + (text[at] - '0');
      if (number > kMax) {
        return Error{"duration " + crypto::quoteForMessage(text) + " is too long"};
      }
    }
    if (digits == 0 || at == text.size()) {
      return bad();
    }
    int64_t unit = 0;
    switch (text[at++]) {
      case 's':
        unit = 1;
        break;
      case 'm':
        unit = 60;
        break;
      case 'h':
        unit = 3600;
        break;
      case 'd':
        unit = 86400;
        break;
      default:
        return bad();
    }
    total += number * unit;
    if (total > kMax) {
      return Error{"duration " + crypto::quoteForMessage(text) + " is too long"};
    }
  }
  return seconds(total);
}

std::string formatDuration(seconds duration) {
  const int64_t count = duration.count();
  if (count != 0 && count % 3600 == 0) {
    return std::to_string(count / 3600) + "h";
  }
  if (count != 0 && count % 60 == 0) {
    return std::to_string(count / 60) + "m";
  }
  return std::to_string(count) + "s";
}

namespace {

// "a,b,,c" -> {"a", "b", "c"}.
std::vector<std::string> splitList(const std::string& text) {
  std::vector<std::string> items;
  size_t start = 0;
  while (start <= text.size()) {
    size_t comma = text.find(',', start);
    if (comma == std::string::npos) comma = text.size();
    if (comma > start) items.push_back(text.substr(start, comma - start));
    start = comma + 1;
  }
  return items;
}

}  // namespace

bool parseCaFlag(const std::string& flag, const std::string& value, CaOptions& options,
                 std::string& error) {
  auto duration = [&](seconds& out) {
    auto parsed = parseDuration(value);
    if (!parsed.ok()) {
      error = flag + ": " + parsed.error();
    } else {
      out = *parsed;
    }
    return true;
  };
  if (flag == "--ca-listen") {
    options.listen = value;
  } else if (flag == "--ca-dir") {
    options.ca_dir = value;
  } else if (flag == "--root-cert-out") {
    options.root_cert_out = value;
  } else if (flag == "--token-public-key") {
    options.token_public_key = value;
  } else if (flag == "--token-audience") {
    options.token_audience = value;
  } else if (flag == "--token-issuer") {
    options.token_issuer = value;
  } else if (flag == "--ca-hostnames") {
    options.hostnames = splitList(value);
  } else if (flag == "--workload-cert-ttl") {
    return duration(options.workload_cert_ttl);
  } else if (flag == "--max-workload-cert-ttl") {
    return duration(options.max_workload_cert_ttl);
  } else if (flag == "--root-overlap") {
    seconds overlap{0};
    duration(overlap);
    if (error.empty()) options.root_overlap = overlap;
  } else {
    return false;
  }
  return true;
}

crypto::Status validateCaOptions(const CaOptions& options) {
  if (!options.enabled()) {
    return {};
  }
  if (options.workload_cert_ttl <= seconds(0) || options.max_workload_cert_ttl <= seconds(0)) {
    return Error{"--workload-cert-ttl and --max-workload-cert-ttl must be positive"};
  }
  if (options.workload_cert_ttl > options.max_workload_cert_ttl) {
    return Error{"--workload-cert-ttl (" + formatDuration(options.workload_cert_ttl) +
                 ") is above --max-workload-cert-ttl (" +
                 formatDuration(options.max_workload_cert_ttl) + ")"};
  }
  if (options.rootOverlap() < options.max_workload_cert_ttl) {
    return Error{"--root-overlap (" + formatDuration(options.rootOverlap()) +
                 ") must be at least --max-workload-cert-ttl (" +
                 formatDuration(options.max_workload_cert_ttl) +
                 "): a leaf the old root signed just before a rotation stays valid that long"};
  }
  if (options.token_audience.empty()) {
    return Error{"--token-audience must not be empty"};
  }
  return {};
}

}  // namespace remora::pilot::ca
