#pragma once

// Resources from a file: the file holds a DiscoveryResponse (YAML or JSON: version_info and
// the resources, each with its "@type"; several types may share a file). It is read at start()
// and again whenever it changes (inotify on its directory through the dispatcher, so editors
// that write a new file and rename it over the old one are seen too). Each version reaches the
// callbacks as upserts and removals per type, in make-before-break order (clusters, endpoints,
// routes, listeners). A resource that fails validation keeps its last good version; an
// unreadable or unparsable file changes nothing. Errors, naming the file, resource and field,
// are logged and kept for the admin page.

#include <chrono>
#include <functional>
#include <map>
#include <string>

#include "remora/service/discovery/v1/discovery.pb.h"
#include "source/common/config/xds_resource.h"
#include "source/interface/config/errors.h"
#include "source/interface/event/dispatcher.h"
#include "source/interface/stats/stats.h"

namespace remora::config {

class FileSubscription {
 public:
  FileSubscription(event::Dispatcher& dispatcher, std::string path,
                   SubscriptionCallbacks& callbacks, stats::Store& store);
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
  SubscriptionCallbacks& callbacks_;
  std::map<std::string, SotwTracker, std::less<>> trackers_;
  int inotify_fd_ = -1;
  event::FileEventPtr file_event_;
  // Changes come in bursts (write, close, rename): reload once they settle.
  event::TimerPtr settle_timer_;
  std::string version_;
  std::string last_content_;
  bool loaded_ = false;
  std::chrono::system_clock::time_point last_updated_{};
  std::string last_error_;
  stats::Counter* accepted_;
  stats::Counter* rejected_;
};

}  // namespace remora::config
