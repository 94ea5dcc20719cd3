#pragma once

// The body of a Kubernetes watch response: newline-delimited JSON objects
// {"type":"ADDED|MODIFIED|DELETED|BOOKMARK|ERROR","object":{...}}, arriving in pieces cut
// anywhere (TLS records, HTTP chunks and this decoder's input never line up with events).
// Bytes are buffered until a whole line is there; each line becomes one WatchEvent.

#include <string>
#include <string_view>
#include <vector>

#include "source/common/crypto/result.h"
#include "source/pilot/kubernetes/json_value.h"

namespace remora::pilot::kubernetes {

struct WatchEvent {
  enum class Type { kAdded, kModified, kDeleted, kBookmark, kError };
  Type type = Type::kAdded;
  // The object (or, for kError, the metav1.Status with its "code").
  JsonValue object;
};

class WatchEventStream {
 public:
  // Lines longer than this are refused (a server, or something in the middle, gone wrong),
  // so a stream without newlines cannot grow the buffer without bound.
  static constexpr size_t kMaxEventBytes = 64 * 1024 * 1024;

  // Appends `bytes` and moves every event completed by them to `events`, in stream order.
  // Errors (a line that is not JSON, an unknown event type, an oversized line) leave the
  // stream unusable: the caller drops the connection and watches again.
  crypto::Status feed(std::string_view bytes, std::vector<WatchEvent>& events);

  // At the end of the body: a last event not followed by a newline. Errors as feed().
  crypto::Status finish(std::vector<WatchEvent>& events);

  // Decodes one event line (exposed for tests).
  static crypto::Result<WatchEvent> decodeLine(std::string_view line);

 private:
  std::string buffer_;
};

}  // namespace remora::pilot::kubernetes
