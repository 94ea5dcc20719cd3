#pragma once

// Request path normalization (RFC 3986 section 6), so that routing, every HTTP filter and the
// upstream all see one spelling of a path. Pure functions, no allocation when nothing changes.
//
// Modes (Istio's meshConfig.pathNormalization):
// - NONE: the path is forwarded as it came. Only what no server should accept is refused:
//   a fragment ('#'), control bytes, space and DEL, in the path or the query.
// - BASE: NONE's checks, then percent-encoded unreserved characters (ALPHA DIGIT - . _ ~)
//   decoded, other percent-encodings' hex upper-cased, invalid ones ("%zz", "%4") refused;
//   '\' turned into '/' (as WHATWG URL parsers and Envoy's normalize_path do); bytes the
//   path grammar does not allow (" < > [ ] ^ ` { | } and bytes >= 0x80) percent-encoded; dot
//   segments removed (RFC 3986 5.2.4), including encoded ones, never above the root.
// - MERGE_SLASHES: BASE, and runs of '/' merged into one (before dot segments are removed,
//   as nginx does, so "/public//../admin" is "/admin").
// - DECODE_AND_MERGE_SLASHES: MERGE_SLASHES after %2F and %5C are decoded (to '/').
// The query string (from the first '?') is never changed.
//
// %2F and %5C (escaped slashes, any case) are handled by an action of their own, as Envoy's
// path_with_escaped_slashes_action; it applies in every mode, NONE included.

#include <string>
#include <string_view>

#include "source/common/http/normalize/normalization_error.h"

namespace remora::http {

enum class PathNormalization { kNone, kBase, kMergeSlashes, kDecodeAndMergeSlashes };

enum class EscapedSlashesAction {
  kKeepUnchanged,        // left encoded (hex upper-cased outside NONE)
  kRejectRequest,        // 400
  kUnescapeAndRedirect,  // 307 to the normalized path with them decoded
  kUnescapeAndForward,   // decoded to '/' (to '\' for %5C under NONE) and forwarded
};

struct PathNormalizationOptions {
  PathNormalization mode = PathNormalization::kBase;
  EscapedSlashesAction escaped_slashes = EscapedSlashesAction::kRejectRequest;

  // The action used when none is configured: UNESCAPE_AND_FORWARD under
  // DECODE_AND_MERGE_SLASHES (that mode's meaning, as in Istio), KEEP_UNCHANGED under NONE
  // (nothing is changed), otherwise REJECT_REQUEST: a DENY on "/admin/*" must not be walked
  // around with "/admin%2F..." that a server decodes, and refusing is never silently wrong.
  static EscapedSlashesAction defaultAction(PathNormalization mode);
};

struct PathResult {
  enum class Outcome {
    kUnchanged,   // forward as it came
    kNormalized,  // forward `path`
    kRedirect,    // answer 307 with location `path` (an escaped slash was decoded)
    kRejected,    // answer 400; `error` says why
  };
  Outcome outcome = Outcome::kUnchanged;
  NormalizationError error = NormalizationError::kNone;
  std::string path;  // the new path and query (kNormalized, kRedirect)
};

// Normalizes an origin-form request target ("/path?query"); anything not starting with '/'
// is rejected as kInvalidPath (the caller deals with "*" and CONNECT's authority-form).
PathResult normalizePath(std::string_view target, const PathNormalizationOptions& options);

// RFC 3986 5.2.4 on an absolute path ("/a/b/../c" -> "/a/c"); `path` must start with '/'.
std::string removeDotSegments(std::string_view path);

}  // namespace remora::http
