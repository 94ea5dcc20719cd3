#pragma once

// Creates the downstream codec a connection manager uses.

#include <memory>

#include "filters/network/http_connection_manager/hcm_config.h"
#include "source/interface/http/codec.h"
#include "source/interface/network/connection.h"

namespace remora::filters::hcm {

std::unique_ptr<http::ServerConnection> createServerCodec(
    bool http2, network::Connection& connection, http::ServerConnectionCallbacks& callbacks,
    const HcmConfig& config);

}  // namespace remora::filters::hcm
