#pragma once

// The Prometheus scrape endpoint (/stats/prometheus, /metrics) as an admin handler.

#include "source/interface/stats/stats.h"
#include "source/server/admin/admin_server.h"

namespace remora::server {

// Content type of the Prometheus text exposition format, version 0.0.4.
inline constexpr const char* kPrometheusContentType = "text/plain; version=0.0.4; charset=utf-8";

// Answers with `store`'s exposition. `store` must outlive the returned handler.
AdminServer::Handler prometheusHandler(const stats::Store& store);

}  // namespace remora::server
