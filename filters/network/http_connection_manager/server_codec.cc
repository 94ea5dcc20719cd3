#include "filters/network/http_connection_manager/server_codec.h"

#include "source/common/http/http1/server_codec.h"
#include "source/common/http/http2/codec_impl.h"

namespace remora::filters::hcm {

std::unique_ptr<http::ServerConnection> createServerCodec(
    bool http2, network::Connection& connection, http::ServerConnectionCallbacks& callbacks,
    const HcmConfig& config) {
  if (http2) {
    http::http2::Http2Settings settings;
    settings.max_concurrent_streams = config.h2_max_concurrent_streams;
    settings.initial_stream_window_size = config.h2_initial_stream_window;
    settings.initial_connection_window_size = config.h2_initial_connection_window;
    settings.max_header_list_size = config.max_request_headers_bytes;
    return std::make_unique<http::http2::ServerConnectionImpl>(connection, callbacks, settings);
  }
  http::http1::Http1Settings settings;
  settings.max_request_headers_bytes = config.max_request_headers_bytes;
  settings.max_headers_count = config.max_headers_count;
  settings.upgrade_protocols = config.upgrade_protocols;
  return std::make_unique<http::http1::ServerConnectionImpl>(connection, callbacks, settings);
}

}  // namespace remora::filters::hcm
