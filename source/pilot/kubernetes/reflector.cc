#include "source/pilot/kubernetes/reflector.h"

#include "source/pilot/kubernetes/document_from_json.h"
#include "source/pilot/kubernetes/object_trim.h"

#include <iostream>
#include <random>

namespace remora::pilot::kubernetes {

namespace {

std::function<double()> defaultRandom() {
  auto engine = std::make_shared<std::mt19937_64>(std::random_device{}());
  return [engine] { return std::uniform_real_distribution<double>(0, 1)(*engine); };
}

}  // namespace

std::string objectKey(const JsonValue& object) {
  const JsonValue& metadata = object.get("metadata");
  std::string name = metadata.get("name").asString();
  if (name.empty()) {
    return "";
  }
  std::string ns = metadata.get("namespace").asString();
  return ns.empty() ? name : ns + "/" + name;
}

std::string encodeQueryValue(const std::string& text) {
  static const char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : text) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 0xF];
    }
  }
  return out;
}

Reflector::Reflector(ResourceKind kind, HttpsClient& client, const ReflectorSettings& settings,
                     StopSignal& stop, Callbacks callbacks)
    : kind_(std::move(kind)),
      api_version_(kind_.group.empty() ? kind_.versions.front()
                                       : kind_.group + "/" + kind_.versions.front()),
      client_(client),
      settings_(settings),
      stop_(stop),
      callbacks_(std::move(callbacks)),
      random_(settings.random ? settings.random : defaultRandom()),
      backoff_(settings.initial_backoff, settings.max_backoff, settings.backoff_jitter, random_) {}

void Reflector::log(const std::string& message) {
  if (settings_.log) {
    settings_.log(kind_.kind + ": " + message);
  } else {
    std::cerr << "kubernetes source: " << kind_.kind << ": " << message << std::endl;
  }
}

void Reflector::ready(bool present) {
  if (!ready_reported_) {
    ready_reported_ = true;
    callbacks_.on_ready(kind_.kind, present);
  }
}

CompactDocumentPtr Reflector::keep(JsonValue object) const {
  if (settings_.trim) {
    settings_.trim(kind_.kind, object);
  } else {
    trimForPilot(kind_.kind, object);
  }
  return documentFromApiObject(object, kind_.kind, api_version_);
}

void Reflector::publish() { callbacks_.on_change(kind_.kind, objects_); }

void Reflector::run() {
  while (!stop_.stopped()) {
    bool absent = false;
    std::string path = discoverPath(absent);
    if (path.empty()) {
      if (absent) {
        ready(false);
        backoff_.reset();
        stop_.waitFor(settings_.discovery_recheck);
      } else {
        stop_.waitFor(backoff_.next());
      }
      continue;
    }
    ListResult listed = list(path);
    if (listed == ListResult::kNotFound) {
      // Removed since discovery (a CRD deleted): discovery decides whether it is absent. The
      // objects last listed stay in force meanwhile.
      stop_.waitFor(settings_.discovery_recheck);
      continue;
    }
    if (listed == ListResult::kFailed) {
      stop_.waitFor(backoff_.next());
      continue;
    }
    backoff_.reset();
    ready(true);
    if (watch(path) == WatchEnd::kStopped) {
      return;
    }
  }
}

std::string Reflector::discoverPath(bool& absent) {
  if (kind_.group.empty()) {
    return "/api/" + kind_.versions.front() + "/" + kind_.plural;
  }
  std::string body;
  auto status = client_.get("/apis/" + kind_.group, settings_.request_timeout, stop_.flag(), body,
                            1024 * 1024);
  if (!status.ok()) {
    log("API discovery: " + status.error());
    return "";
  }
  if (status.value() == 404) {
    absent = true;
    return "";
  }
  if (status.value() != 200) {
    log("API discovery: /apis/" + kind_.group + " answered " + std::to_string(status.value()));
    return "";
  }
  auto group = JsonValue::parse(body);
  if (!group.ok()) {
    log("API discovery: /apis/" + kind_.group + ": " + group.error());
    return "";
  }
  for (const std::string& wanted : kind_.versions) {
    for (const JsonValue& offered : group->get("versions").elements()) {
      if (offered.get("version").asString() == wanted) {
        return "/apis/" + kind_.group + "/" + wanted + "/" + kind_.plural;
      }
    }
  }
  absent = true;  // the group exists, but in no version pilot reads
  return "";
}

Reflector::ListResult Reflector::list(const std::string& path) {
  auto fresh = std::make_shared<ObjectMap>();
  std::string continue_token;
  std::string version;
  while (!stop_.stopped()) {
    std::string query = path + "?limit=" + std::to_string(settings_.page_size);
    if (!continue_token.empty()) {
      query += "&continue=" + encodeQueryValue(continue_token);
    }
    std::string body;
    auto status = client_.get(query, settings_.request_timeout, stop_.flag(), body);
    if (!status.ok()) {
      log("list: " + status.error());
      return ListResult::kFailed;
    }
    if (status.value() == 410 && !continue_token.empty()) {
      // The continue token expired between pages: the pages so far may not match the next
      // ones, so the list starts over.
      log("list: continue token expired (410), listing from the start");
      fresh->clear();
      continue_token.clear();
      continue;
    }
    if (status.value() == 404) {
      log("list: " + path + " answered 404, looking the kind up again");
      return ListResult::kNotFound;
    }
    if (status.value() != 200) {
      log("list: " + path + " answered " + std::to_string(status.value()));
      return ListResult::kFailed;
    }
    auto page = JsonValue::parse(body);
    if (!page.ok()) {
      log("list: " + page.error());
      return ListResult::kFailed;
    }
    for (const JsonValue& item : page->get("items").elements()) {
      if (std::string key = objectKey(item); !key.empty()) {
        (*fresh)[key] = keep(item);
      }
    }
    version = page->get("metadata").get("resourceVersion").asString();
    continue_token = page->get("metadata").get("continue").asString();
    if (continue_token.empty()) {
      objects_ = std::move(fresh);
      resource_version_ = version;
      publish();
      return ListResult::kListed;
    }
  }
  return ListResult::kFailed;
}

bool Reflector::apply(const WatchEvent& event, bool& relist) {
  const std::string version = event.object.get("metadata").get("resourceVersion").asString();
  switch (event.type) {
    case WatchEvent::Type::kAdded:
    case WatchEvent::Type::kModified:
    case WatchEvent::Type::kDeleted: {
      std::string key = objectKey(event.object);
      if (key.empty()) {
        log("watch: event for an object without a name, ignored");
        return true;
      }
      // Copy on write: a snapshot handed out earlier never changes under its holder.
      if (objects_.use_count() > 1) {
        objects_ = std::make_shared<ObjectMap>(*objects_);
      }
      if (event.type == WatchEvent::Type::kDeleted) {
        objects_->erase(key);
      } else {
        (*objects_)[key] = keep(event.object);
      }
      if (!version.empty()) {
        resource_version_ = version;
      }
      publish();
      return true;
    }
    case WatchEvent::Type::kBookmark:
      if (!version.empty()) {
        resource_version_ = version;
      }
      return true;
    case WatchEvent::Type::kError: {
      long long code = event.object.get("code").asInteger();
      log("watch: ERROR event " + std::to_string(code) + " " +
          crypto::quoteForMessage(event.object.get("message").asString(), 200));
      relist = code == 410;
      return false;
    }
  }
  return true;
}

Reflector::WatchEnd Reflector::watch(const std::string& path) {
  while (!stop_.stopped()) {
    const auto span = settings_.max_watch_timeout - settings_.min_watch_timeout;
    const std::chrono::seconds timeout =
        settings_.min_watch_timeout +
        std::chrono::seconds(static_cast<long long>(random_() * (span.count() + 1)));
    const std::string query =
        path + "?watch=1&resourceVersion=" + encodeQueryValue(resource_version_) +
        "&allowWatchBookmarks=true&timeoutSeconds=" + std::to_string(timeout.count());
    WatchEventStream stream;
    std::vector<WatchEvent> events;
    bool relist = false;
    bool ended_by_event = false;
    crypto::Status stream_status;
    auto status = client_.get(query, settings_.request_timeout + timeout, stop_.flag(),
                              [&](std::string_view bytes) {
                                stream_status = stream.feed(bytes, events);
                                for (const WatchEvent& event : events) {
                                  if (!apply(event, relist)) {
                                    ended_by_event = true;
                                    return false;
                                  }
                                }
                                events.clear();
                                return stream_status.ok();
                              });
    if (stop_.stopped()) {
      return WatchEnd::kStopped;
    }
    if (status.ok() && status.value() == 200 && stream_status.ok() && !ended_by_event) {
      if (stream_status = stream.finish(events); stream_status.ok()) {
        for (const WatchEvent& event : events) {
          if (!apply(event, relist)) {
            ended_by_event = true;
            break;
          }
        }
      }
    }
    if (relist || (status.ok() && status.value() == 410)) {
      log("watch: resourceVersion " + resource_version_ + " too old (410 Gone), listing again");
      return WatchEnd::kRelist;
    }
    if (status.ok() && status.value() == 200 && stream_status.ok() && !ended_by_event) {
      backoff_.reset();  // the server's timeout: watch again at once from the last version
      continue;
    }
    if (!status.ok()) {
      log("watch: " + status.error());
    } else if (status.value() != 200) {
      log("watch: answered " + std::to_string(status.value()));
    } else if (!stream_status.ok()) {
      log("watch: " + stream_status.error());
    }
    if (!stop_.waitFor(backoff_.next())) {
      return WatchEnd::kStopped;
    }
  }
  return WatchEnd::kStopped;
}

}  // namespace remora::pilot::kubernetes
