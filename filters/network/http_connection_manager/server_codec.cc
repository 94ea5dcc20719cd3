#include "filters/network/http_connection_manager/server_codec.h"

#include "source/common/common/logger.h"
#include "source/common/http/http1/server_codec.h"

namespace remora::filters::hcm {

std::unique_ptr<http::ServerConnection> createServerCodec(
    bool http2, network::Connection& connection, http::ServerConnectionCallbacks& callbacks,
    const HcmConfig& config) {
  if (http2) {
    // The HTTP/2 codec is not in this build yet: the connection is refused (closed).
    REMORA_LOG(debug, "[C%lu] HTTP/2 preface received; HTTP/2 is not supported yet",
               connection.id());
    return nullptr;
  }
  http::http1::Http1Settings settings;
  settings.max_request_headers_bytes = config.max_request_headers_bytes;
  settings.max_headers_count = config.max_headers_count;
  return std::make_unique<http::http1::ServerConnectionImpl>(connection, callbacks, settings);
}

}  // namespace remora::filters::hcm
