#pragma once

// Resources from a file: the file holds a DiscoveryResponse (YAML or JSON: version_info and
// the resources, each with its "@type"). It is read at start() and again whenever it changes
// (inotify on its directory through the dispatcher, so editors that write a new file and
// rename it over the old one are seen too). Each version goes to the owner's callback, which
// validates and applies it whole or rejects it whole; a rejected or unreadable version leaves
// the last good one in place, and the error, naming the file and field, is logged and kept
// for the admin page.

#include <chrono>
#include <functional>
#include <string>

#include "remora/service/discovery/v1/discovery.pb.h"
#include "source/interface/config/errors.h"
#include "source/interface/event/dispatcher.h"
#include "source/interface/stats/stats.h"

namespace remora::config {

class FileSubscription {
 public:
  // Validates and applies a version; adds errors (and changes nothing) to reject it.
  using UpdateCallback =
      std::function<void(const service::discovery::v1::DiscoveryResponse&, Errors&)>;

  // `name` labels the metrics and logs ("cds").
  FileSubscription(event::Dispatcher& dispatcher, std::string path, std::string name,
                   UpdateCallback on_update, stats::Store& store);
  ~FileSubscription();

  // Reads the file once now, then watches it.
  void start();

  const std::string& path() const { return path_; }
  // The version applied last ("" before any), when, and the last rejection's errors.
  const std::string& version() const { return version_; }
  std::chrono::system_clock::time_point lastUpdated() const { return last_updated_; }
  const std::string& lastError() const { return last_error_; }

 private:
  void load();
  void onNotify();

  event::Dispatcher& dispatcher_;
  std::string path_;
  std::string directory_;
  std::string file_name_;
  std::string name_;
  UpdateCallback on_update_;
  int inotify_fd_ = -1;
  event::FileEventPtr file_event_;
  // Changes come in bursts (write, close, rename): reload once they settle.
  event::TimerPtr settle_timer_;
  std::string version_;
  std::string last_content_;
  std::chrono::system_clock::time_point last_updated_{};
  std::string last_error_;
  stats::Counter* accepted_;
  stats::Counter* rejected_;
};

}  // namespace remora::config
