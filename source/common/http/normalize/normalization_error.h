#pragma once

// Why a request was refused by request normalization. Each reason is one label value of
// remora_http_downstream_rq_rejected_total{reason} and part of the access log's details.

#include <cstddef>
#include <string_view>

namespace remora::http {

enum class NormalizationError {
  kNone,
  // A '#' in the request target: clients never send fragments (RFC 9110 section 7.1).
  kFragment,
  // A control byte, space or DEL in the path or query.
  kInvalidPathCharacter,
  // '%' not followed by two hex digits.
  kInvalidPercentEncoding,
  // %2F or %5C while path_with_escaped_slashes_action is REJECT_REQUEST.
  kEscapedSlash,
  // Neither origin-form ("/...") nor "*" for OPTIONS.
  kInvalidPath,
  // :authority / Host outside RFC 3986's grammar, a bad port or an invalid IP literal.
  kInvalidAuthority,
};

inline constexpr size_t kNormalizationErrorCount = 7;

inline std::string_view normalizationErrorName(NormalizationError error) {
  switch (error) {
    case NormalizationError::kNone:
      return "none";
    case NormalizationError::kFragment:
      return "fragment";
    case NormalizationError::kInvalidPathCharacter:
      return "invalid_path_character";
    case NormalizationError::kInvalidPercentEncoding:
      return "invalid_percent_encoding";
    case NormalizationError::kEscapedSlash:
      return "escaped_slash";
    case NormalizationError::kInvalidPath:
      return "invalid_path";
    case NormalizationError::kInvalidAuthority:
      return "invalid_authority";
  }
  return "none";
}

}  // namespace remora::http
