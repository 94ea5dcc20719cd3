#include "source/server/admin/stats_handler.h"

namespace remora::server {

AdminServer::Handler prometheusHandler(const stats::Store& store) {
  return [&store](const AdminRequest&) {
    AdminResponse response;
    response.content_type = kPrometheusContentType;
    response.body = store.prometheusText();
    return response;
  };
}

}  // namespace remora::server
