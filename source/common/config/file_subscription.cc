#include "source/common/config/file_subscription.h"

#include <sys/inotify.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

#include "source/common/common/logger.h"
#include "source/common/config/message_loader.h"

namespace remora::config {

FileSubscription::FileSubscription(event::Dispatcher& dispatcher, std::string path,
                                   SubscriptionCallbacks& callbacks, stats::Store& store)
    : dispatcher_(dispatcher), path_(std::move(path)), callbacks_(callbacks) {
  size_t slash = path_.rfind('/');
  directory_ = slash == std::string::npos ? "." : path_.substr(0, slash);
  if (directory_.empty()) directory_ = "/";
  file_name_ = slash == std::string::npos ? path_ : path_.substr(slash + 1);
  accepted_ = &store.counter("remora_config_updates_total",
                             "Versions of dynamic resources applied or rejected.",
                             {{"source", path_}, {"result", "accepted"}});
  rejected_ = &store.counter("remora_config_updates_total",
                             "Versions of dynamic resources applied or rejected.",
                             {{"source", path_}, {"result", "rejected"}});
}

FileSubscription::~FileSubscription() {
  file_event_.reset();
  if (inotify_fd_ >= 0) ::close(inotify_fd_);
}

void FileSubscription::start() {
  load();
  inotify_fd_ = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  if (inotify_fd_ < 0 ||
      inotify_add_watch(inotify_fd_, directory_.c_str(),
                        IN_CLOSE_WRITE | IN_MOVED_TO | IN_CREATE | IN_MODIFY) < 0) {
    REMORA_LOG(error, "%s: cannot watch %s: %s", path_.c_str(), directory_.c_str(),
               strerror(errno));
    return;
  }
  settle_timer_ = dispatcher_.createTimer([this] { load(); });
  file_event_ = dispatcher_.createFileEvent(
      inotify_fd_, [this](uint32_t) { onNotify(); }, event::FileReady::kRead);
}

void FileSubscription::onNotify() {
  alignas(inotify_event) char buffer[4096];
  bool ours = false;
  ssize_t n;
  while ((n = ::read(inotify_fd_, buffer, sizeof(buffer))) > 0) {
    for (char* p = buffer; p < buffer + n;) {
      auto* event = reinterpret_cast<inotify_event*>(p);
      if (event->len > 0 && file_name_ == event->name) ours = true;
      p += sizeof(inotify_event) + event->len;
    }
  }
  if (ours) settle_timer_->enable(std::chrono::milliseconds(20));
}

void FileSubscription::load() {
  std::ifstream in(path_);
  if (!in) {
    last_error_ = path_ + ": cannot be read";
    REMORA_LOG(error, "%s; keeping version \"%s\"", last_error_.c_str(), version_.c_str());
    rejected_->inc();
    return;
  }
  std::stringstream text;
  text << in.rdbuf();
  std::string content = text.str();
  // Editors touch files without changing them; only new content is a new version.
  if (loaded_ && content == last_content_) return;
  loaded_ = true;
  UpdateOutcome outcome;
  service::discovery::v1::DiscoveryResponse response;
  if (parseMessage(content, response, outcome.errors)) {
    std::map<std::string, std::vector<const google::protobuf::Any*>> by_type;
    for (const auto& resource : response.resources()) {
      by_type[resource.type_url()].push_back(&resource);
    }
    for (const auto& [type, resources] : by_type) {
      if (type != kSecretType && type != kClusterType && type != kEndpointType &&
          type != kRouteType && type != kListenerType) {
        outcome.errors.add("resources", "unknown resource type \"" + type + "\"");
      }
    }
    // Types this file held before and holds no more are removed too.
    for (const auto& [type, tracker] : trackers_) by_type.try_emplace(type);
    // Secrets first: the clusters and listeners of the same file may need them.
    for (std::string_view type :
         {kSecretType, kClusterType, kEndpointType, kRouteType, kListenerType}) {
      auto it = by_type.find(std::string(type));
      if (it == by_type.end()) continue;
      SotwTracker& tracker = trackers_[std::string(type)];
      std::vector<DecodedResource> upserts;
      std::vector<std::string> removed;
      tracker.diff(it->second, "resources", upserts, removed, outcome);
      if (upserts.empty() && removed.empty()) continue;
      callbacks_.onResourceUpdate(type, upserts, removed, outcome);
      tracker.commit(upserts, removed, outcome);
    }
  }
  last_content_ = content;
  if (!outcome.errors.empty()) {
    last_error_.clear();
    for (const auto& line : outcome.errors.lines()) last_error_ += path_ + ": " + line + "\n";
    REMORA_LOG(error,
               "rejected (the rest applied; rejected resources keep their last good "
               "version):\n%s",
               last_error_.c_str());
    rejected_->inc();
    return;
  }
  version_ = response.version_info();
  last_updated_ = std::chrono::system_clock::now();
  last_error_.clear();
  accepted_->inc();
  REMORA_LOG(info, "applied version \"%s\" from %s", version_.c_str(), path_.c_str());
}

}  // namespace remora::config
