#pragma once

// `remora.filters.http.rbac`: authorizes each request from its headers (method, path without
// the query, :authority, request.headers[...] conditions) and its connection (the mTLS peer's
// SPIFFE ID, addresses, destination port). A denied request is answered here with 403
// "RBAC: access denied" and never reaches the filters after it, nor an upstream.
//
// With forward_principal_header set, the header is always removed from what the client sent
// (so it cannot be forged) and, on an allowed request from a peer with an identity, set to
// that identity for the application.

#include <forward_list>
#include <optional>
#include <string>
#include <string_view>

#include "filters/network/rbac/rbac_filter_config.h"
#include "source/interface/http/header_decoder_filter.h"

namespace remora::filters::rbac {

class RbacHttpFilter : public http::HeaderDecoderFilter {
 public:
  // `config` outlives the stream: the connection manager's config holds the factory that
  // holds it.
  explicit RbacHttpFilter(const RbacFilterConfig& config) : config_(config) {}

  http::FilterStatus decodeHeaders(http::HeaderMap& headers, bool end_stream) override;

 private:
  // A request header for the engine's request.headers[...] conditions: repeated headers are
  // joined with "," into `joined_`, whose strings stay put while the engine holds their views.
  std::optional<std::string_view> header(const http::HeaderMap& headers, std::string_view name);

  const RbacFilterConfig& config_;
  std::forward_list<std::string> joined_;
};

}  // namespace remora::filters::rbac
