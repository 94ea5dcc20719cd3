#pragma once

// One kind's copy of the API server's objects, kept current the way client-go's reflector
// does: find the kind's API version (discovery, for non-core groups), list it in pages
// (limit / continue), then watch from the list's resourceVersion with bookmarks and a random
// 5-10 minute timeout. A watch that ends is resumed from the last resourceVersion seen
// (bookmarks included); "410 Gone" (status or ERROR event) means that version is too old, so
// the kind is listed again; dropped connections, 5xx and 401 are retried with jittered
// exponential backoff while the last good objects stay in force. A group that is not
// installed is reported absent and looked for again every `discovery_recheck`.

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <string>

#include "source/pilot/document/compact_document.h"
#include "source/pilot/kubernetes/backoff.h"
#include "source/pilot/kubernetes/https_client.h"
#include "source/pilot/kubernetes/json_value.h"
#include "source/pilot/kubernetes/resource_kind.h"
#include "source/pilot/kubernetes/stop_signal.h"
#include "source/pilot/kubernetes/watch_event_stream.h"

namespace remora::pilot::kubernetes {

// A kind's objects keyed "namespace/name" (cluster-scoped kinds: "name"), trimmed and kept as
// compact documents (document_from_json.h) with kind and apiVersion set (list items carry
// neither; the kind's preferred version when the object names none). An object that did not
// change is the same document in every later map.
using ObjectMap = std::map<std::string, CompactDocumentPtr>;
// Immutable once handed out: a later change makes a new map.
using Snapshot = std::shared_ptr<const ObjectMap>;

struct ReflectorSettings {
  int page_size = 500;
  std::chrono::milliseconds request_timeout{60'000};  // a list page, discovery; watch: + timeout
  std::chrono::seconds min_watch_timeout{300};
  std::chrono::seconds max_watch_timeout{600};
  std::chrono::milliseconds initial_backoff{800};
  std::chrono::milliseconds max_backoff{30'000};
  double backoff_jitter = 1.0;
  std::chrono::milliseconds discovery_recheck{30'000};
  // [0, 1); watch timeouts and backoff jitter. Default (null): a seeded std::mt19937.
  std::function<double()> random;
  // Trims an object (list item or watch event object) before it is kept, to hold only what
  // pilot reads: at 50,000 pods the objects are most of the memory. Called on the reflector's
  // thread with the kind. Default (null): trimForPilot (object_trim.h).
  std::function<void(const std::string& kind, JsonValue& object)> trim;
  // Errors and notable events ("VirtualService: watch: 410 Gone, listing again"). Default
  // (null): stderr.
  std::function<void(const std::string&)> log;
};

class Reflector {
 public:
  // Called on the reflector's thread. on_change: the kind's objects after a complete list and
  // after every watch event that changed them. on_ready: once, after the first complete list,
  // or when the kind's group is found not installed (`present` false).
  struct Callbacks {
    std::function<void(const std::string& kind, Snapshot objects)> on_change;
    std::function<void(const std::string& kind, bool present)> on_ready;
  };

  // `client`, `settings` and `stop` must outlive run().
  Reflector(ResourceKind kind, HttpsClient& client, const ReflectorSettings& settings,
            StopSignal& stop, Callbacks callbacks);

  // Runs until `stop` is signalled. Call on a thread of its own.
  void run();

 private:
  enum class WatchEnd { kRelist, kStopped };
  // The collection path ("/apis/networking.istio.io/v1/virtualservices"), or empty when the
  // group is absent (or discovery failed; `absent` tells which).
  std::string discoverPath(bool& absent);
  enum class ListResult { kListed, kFailed, kNotFound };
  // Lists every page and, when complete, replaces the objects and publishes them.
  ListResult list(const std::string& path);
  WatchEnd watch(const std::string& path);
  // Applies one watch event; false when the watch must end (`relist` set for 410).
  bool apply(const WatchEvent& event, bool& relist);
  void publish();
  void ready(bool present);
  void log(const std::string& message);
  CompactDocumentPtr keep(JsonValue object) const;

  const ResourceKind kind_;
  const std::string api_version_;  // "group/version" of the kind's preferred version
  HttpsClient& client_;
  const ReflectorSettings& settings_;
  StopSignal& stop_;
  const Callbacks callbacks_;
  std::function<double()> random_;
  Backoff backoff_;
  std::shared_ptr<ObjectMap> objects_ = std::make_shared<ObjectMap>();
  std::string resource_version_;
  bool ready_reported_ = false;
};

// "namespace/name" or "name" from an object's metadata; empty when it has no name.
std::string objectKey(const JsonValue& object);

// `text` percent-encoded for a query parameter value.
std::string encodeQueryValue(const std::string& text);

}  // namespace remora::pilot::kubernetes
