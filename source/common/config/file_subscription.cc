#include "source/common/config/file_subscription.h"

#include <sys/inotify.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

#include "source/common/common/logger.h"
#include "source/common/config/message_loader.h"

namespace remora::config {

FileSubscription::FileSubscription(event::Dispatcher& dispatcher, std::string path,
                                   std::string name, UpdateCallback on_update, stats::Store& store)
    : dispatcher_(dispatcher),
      path_(std::move(path)),
      name_(std::move(name)),
      on_update_(std::move(on_update)) {
  size_t slash = path_.rfind('/');
  directory_ = slash == std::string::npos ? "." : path_.substr(0, slash);
  if (directory_.empty()) directory_ = "/";
  file_name_ = slash == std::string::npos ? path_ : path_.substr(slash + 1);
  accepted_ = &store.counter("remora_config_updates_total",
                             "Versions of dynamic resources applied or rejected.",
                             {{"source", name_}, {"result", "accepted"}});
  rejected_ = &store.counter("remora_config_updates_total",
                             "Versions of dynamic resources applied or rejected.",
                             {{"source", name_}, {"result", "rejected"}});
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
    REMORA_LOG(error, "%s: cannot watch %s: %s", name_.c_str(), directory_.c_str(),
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
    REMORA_LOG(error, "%s: %s; keeping version \"%s\"", name_.c_str(), last_error_.c_str(),
               version_.c_str());
    rejected_->inc();
    return;
  }
  std::stringstream text;
  text << in.rdbuf();
  std::string content = text.str();
  // Editors touch files without changing them; only new content is a new version.
  if (content == last_content_ && !version_.empty()) return;
  Errors errors;
  service::discovery::v1::DiscoveryResponse response;
  if (parseMessage(content, response, errors)) on_update_(response, errors);
  if (!errors.empty()) {
    last_error_.clear();
    for (const auto& line : errors.lines()) last_error_ += path_ + ": " + line + "\n";
    REMORA_LOG(error, "%s: rejected %s (keeping version \"%s\"):\n%s", name_.c_str(), path_.c_str(),
               version_.c_str(), last_error_.c_str());
    rejected_->inc();
    return;
  }
  last_content_ = content;
  version_ = response.version_info();
  last_updated_ = std::chrono::system_clock::now();
  last_error_.clear();
  accepted_->inc();
  REMORA_LOG(info, "%s: applied version \"%s\" from %s", name_.c_str(), version_.c_str(),
             path_.c_str());
}

}  // namespace remora::config
