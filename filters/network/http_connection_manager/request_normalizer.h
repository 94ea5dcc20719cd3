#pragma once

// The one view of a request that everything after it decides on: called by ActiveStream on
// the decoded headers before routing, any HTTP filter or the upstream sees them, for HTTP/1.1
// and HTTP/2 alike (both codecs produce :path and :authority).
//
// - :authority: an HTTP/2 `host` header stands in for a missing :authority and is dropped
//   otherwise (as Envoy does; HTTP/1.1's Host already became :authority in the codec, which
//   refuses more than one); then normalized (authority_normalizer.h).
// - :path: "*" only for OPTIONS; CONNECT has none (authority-form); anything else is
//   normalized per the options (path_normalizer.h).

#include <string>

#include "source/common/http/normalize/normalization_error.h"
#include "source/common/http/normalize/path_normalizer.h"
#include "source/interface/http/header_map.h"

namespace remora::filters::hcm {

struct NormalizationVerdict {
  enum class Kind { kContinue, kReject, kRedirect };
  Kind kind = Kind::kContinue;
  http::NormalizationError error = http::NormalizationError::kNone;  // kReject
  std::string location;                                              // kRedirect
};

// Rewrites `request` in place; on kReject / kRedirect the request must not go further.
NormalizationVerdict normalizeRequest(http::HeaderMap& request,
                                      const http::PathNormalizationOptions& options);

}  // namespace remora::filters::hcm
