#include "source/pilot/kubernetes/watch_event_stream.h"

namespace remora::pilot::kubernetes {

using crypto::Error;

crypto::Result<WatchEvent> WatchEventStream::decodeLine(std::string_view line) {
  auto parsed = JsonValue::parse(line);
  if (!parsed.ok()) {
    return Error{"watch event: " + parsed.error()};
  }
  const std::string type = parsed->get("type").asString();
  WatchEvent event;
  if (type == "ADDED") {
    event.type = WatchEvent::Type::kAdded;
  } else if (type == "MODIFIED") {
    event.type = WatchEvent::Type::kModified;
  } else if (type == "DELETED") {
    event.type = WatchEvent::Type::kDeleted;
  } else if (type == "BOOKMARK") {
    event.type = WatchEvent::Type::kBookmark;
  } else if (type == "ERROR") {
    event.type = WatchEvent::Type::kError;
  } else {
    return Error{"watch event: unknown type " + crypto::quoteForMessage(type, 32)};
  }
  if (!parsed->get("object").isObject()) {
    return Error{"watch event " + type + ": no object"};
  }
  event.object = parsed->get("object");
  return event;
}

crypto::Status WatchEventStream::feed(std::string_view bytes, std::vector<WatchEvent>& events) {
  size_t scanned = buffer_.size();
  buffer_.append(bytes);
  size_t line_start = 0;
  for (size_t newline = buffer_.find('\n', scanned); newline != std::string::npos;
       newline = buffer_.find('\n', line_start)) {
    std::string_view line(buffer_.data() + line_start, newline - line_start);
    line_start = newline + 1;
    if (line.find_first_not_of(" \t\r") == std::string_view::npos) {
      continue;  // blank lines between events carry nothing
    }
    auto event = decodeLine(line);
    if (!event.ok()) {
      return event.status();
    }
    events.push_back(std::move(event).value());
  }
  buffer_.erase(0, line_start);
  if (buffer_.size() > kMaxEventBytes) {
    return Error{"watch event longer than " + std::to_string(kMaxEventBytes) + " bytes"};
  }
  return {};
}

crypto::Status WatchEventStream::finish(std::vector<WatchEvent>& events) {
  if (buffer_.find_first_not_of(" \t\r") == std::string::npos) {
    buffer_.clear();
    return {};
  }
  auto event = decodeLine(buffer_);
  buffer_.clear();
  if (!event.ok()) {
    return event.status();
  }
  events.push_back(std::move(event).value());
  return {};
}

}  // namespace remora::pilot::kubernetes
