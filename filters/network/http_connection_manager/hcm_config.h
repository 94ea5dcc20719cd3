#pragma once

// Immutable configuration of one http_connection_manager, shared by its connections.

#include <array>
#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "filters/network/http_connection_manager/client_cert_header.h"
#include "source/common/http/normalize/normalization_error.h"
#include "source/common/http/normalize/path_normalizer.h"
#include "source/interface/http/filter.h"
#include "source/interface/router/route_config_provider.h"
#include "source/interface/stats/stats.h"

namespace remora::access_log {
class AccessLogWriter;
}

namespace remora::router {
class RouteTable;
}

namespace remora::filters::hcm {

enum class CodecChoice { kAuto, kHttp1, kHttp2 };

struct HcmStats {
  stats::Counter* requests_1xx = nullptr;
  stats::Counter* requests_2xx = nullptr;
  stats::Counter* requests_3xx = nullptr;
  stats::Counter* requests_4xx = nullptr;
  stats::Counter* requests_5xx = nullptr;
  stats::Gauge* requests_active = nullptr;
  stats::Counter* codec_errors = nullptr;
  stats::Counter* header_timeouts = nullptr;
  stats::Counter* idle_timeouts = nullptr;
  // Requests refused by request normalization, by NormalizationError (kNone unused).
  std::array<stats::Counter*, http::kNormalizationErrorCount> rq_rejected{};
  stats::Counter* rq_redirected_with_normalized_path = nullptr;
  // Requests that ended with a response flag, one counter per flag (bit i of the flags).
  std::vector<std::pair<uint32_t, stats::Counter*>> response_flags;

  stats::Counter* forStatus(uint32_t status) const {
    if (status < 200) return requests_1xx;
    if (status < 300) return requests_2xx;
    if (status < 400) return requests_3xx;
    if (status < 500) return requests_4xx;
    return requests_5xx;
  }
};

// Requests by the client's identity (source_principal label, "unknown" without a verified
// client certificate) and status class. The counters of a principal are made the first time
// it is seen, under a lock; a connection looks its principal up once and keeps the pointer,
// so requests never take the lock.
class SourceStats {
 public:
  struct Classes {
    stats::Counter* by_class[5] = {};  // 1xx..5xx
    stats::Counter* forStatus(uint32_t status) const {
      uint32_t index = status < 200 ? 0 : status >= 500 ? 4 : status / 100 - 1;
      return by_class[index];
    }
  };
  SourceStats(stats::Store& store, std::string prefix)
      : store_(store), prefix_(std::move(prefix)) {}
  // Never null; stable for the life of this object.
  const Classes* forPrincipal(const std::string& principal);

 private:
  stats::Store& store_;
  std::string prefix_;
  std::mutex mutex_;
  std::map<std::string, std::unique_ptr<Classes>, std::less<>> by_principal_;
};

struct HcmConfig {
  std::string stat_prefix;
  CodecChoice codec = CodecChoice::kAuto;
  // Inline routes, or (when set) the provider of discovered ones.
  std::shared_ptr<const router::RouteTable> routes;
  std::shared_ptr<router::RouteConfigProvider> rds;
  std::vector<http::FilterFactoryCb> filter_factories;
  std::chrono::milliseconds request_headers_timeout{10000};
  std::chrono::milliseconds stream_idle_timeout{300000};
  std::chrono::milliseconds idle_timeout{3600000};
  uint32_t max_request_headers_bytes = 60 * 1024;
  uint32_t max_headers_count = 100;
  bool generate_request_id = true;
  // Applied to every request before routing and the HTTP filters (request_normalizer.h).
  http::PathNormalizationOptions path_normalization;
  uint32_t h2_max_concurrent_streams = 100;
  uint32_t h2_initial_stream_window = 256 * 1024;
  uint32_t h2_initial_connection_window = 1024 * 1024;
  // Access log: where lines go (null: no log) and in which format.
  std::shared_ptr<access_log::AccessLogWriter> access_log;
  bool access_log_json = true;
  // Upgrade protocols (lowercase) an HTTP/1.1 request may open a tunnel to, once the upstream
  // answers 101.
  std::vector<std::string> upgrade_protocols{"websocket"};
  // What becomes of x-forwarded-client-cert (removed by default).
  ClientCertConfig client_cert;
  HcmStats stats;
  std::shared_ptr<SourceStats> source_stats;
};

}  // namespace remora::filters::hcm
