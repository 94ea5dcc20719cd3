#pragma once

// A scripted Kubernetes API server for tests: HTTPS on 127.0.0.1 (port 0) with a test CA's
// certificate, one thread per connection, one request per connection. It serves
//   - API discovery: GET /apis/<group> from setGroup() (404 when not set);
//   - list pages:    GET <collection>?limit=N[&continue=T] from setListPages() (the page whose
//                    index is T's number; the first page without T);
//   - watch streams: GET <collection>?watch=1... runs the next WatchScript queued by
//                    queueWatch() for that collection, which writes the whole answer (status
//                    included); until one is queued (or the server stops) the request waits;
// refuses every request whose bearer token is not the accepted one (setAcceptedToken) with
// 401, and records every request for the test to inspect or wait on.

#include <openssl/ssl.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace remora::pilot::kubernetes::testing {

struct RecordedRequest {
  std::string path;   // without the query
  std::string query;  // after '?', may be empty
  std::string authorization;
  // The value of query parameter `name` (raw), or "" when absent.
  std::string param(const std::string& name) const;
};

// The writing end of one response, handed to a WatchScript on its connection's thread.
class ResponseWriter {
 public:
  ResponseWriter(SSL* ssl, std::function<bool()> stopping) : ssl_(ssl), stopping_(stopping) {}
  void sendStatus(int status, const std::string& body);
  void startChunked(int status);
  // One HTTP chunk carrying `data` (skipped when empty).
  void chunk(std::string_view data);
  // The last chunk: the watch ended normally (the server's timeout).
  void endChunked();
  // Nothing more: the connection is closed without ending the body (a dropped connection).
  void drop() { dropped_ = true; }
  bool dropped() const { return dropped_; }
  // Keeps the stream open and idle until the server stops (a watch with nothing to say).
  void holdOpen();

 private:
  void write(std::string_view data);
  SSL* ssl_;
  std::function<bool()> stopping_;
  bool dropped_ = false;
};

using WatchScript = std::function<void(ResponseWriter&)>;

class FakeApiServer {
 public:
  // Listens on 127.0.0.1:`port` (0: any free port).
  FakeApiServer(const std::string& cert_pem, const std::string& key_pem, int port = 0);
  ~FakeApiServer();

  int port() const { return port_; }

  void setAcceptedToken(const std::string& token);
  // `body` is the APIGroup JSON; setGroup(group, "") removes it (404 again).
  void setGroup(const std::string& group, const std::string& body);
  void setListPages(const std::string& collection, std::vector<std::string> pages);
  // The status every list of `collection` answers (0: serve the pages), e.g. 500.
  void setListStatus(const std::string& collection, int status);
  // The next list request of `collection` with a continue token answers `status` (e.g. 410,
  // the token expired), once.
  void failNextContinue(const std::string& collection, int status);
  void queueWatch(const std::string& collection, WatchScript script);

  std::vector<RecordedRequest> requests() const;
  // Waits until some recorded request satisfies `match`; returns it, or fails (returns an
  // empty path) after `timeout`.
  RecordedRequest waitForRequest(const std::function<bool(const RecordedRequest&)>& match,
                                 std::chrono::milliseconds timeout = std::chrono::seconds(10));
  // Waits until at least `count` recorded requests satisfy `match`; false after `timeout`.
  bool waitForRequests(const std::function<bool(const RecordedRequest&)>& match, size_t count,
                       std::chrono::milliseconds timeout = std::chrono::seconds(10));
  // How many recorded requests satisfy `match`.
  size_t countRequests(const std::function<bool(const RecordedRequest&)>& match) const;

 private:
  void acceptLoop();
  void serve(int fd);
  void handle(const RecordedRequest& request, ResponseWriter& writer);

  SSL_CTX* ctx_ = nullptr;
  int listen_fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stopping_{false};
  std::thread acceptor_;

  mutable std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<std::thread> connections_;
  std::vector<int> open_fds_;
  std::string accepted_token_;
  std::map<std::string, std::string> groups_;
  std::map<std::string, std::vector<std::string>> list_pages_;
  std::map<std::string, int> list_status_;
  std::map<std::string, int> continue_failures_;
  std::map<std::string, std::deque<WatchScript>> watches_;
  std::vector<RecordedRequest> requests_;
};

// A watch event line: {"type":TYPE,"object":OBJECT}\n
std::string watchEvent(const std::string& type, const std::string& object_json);
// A minimal namespaced object JSON with metadata name, namespace and resourceVersion.
std::string objectJson(const std::string& kind, const std::string& ns, const std::string& name,
                       const std::string& resource_version, const std::string& extra = "");
// A list page: items, resourceVersion, continue token ("" for the last page).
std::string listPage(const std::vector<std::string>& items, const std::string& resource_version,
                     const std::string& continue_token = "");
// An APIGroup discovery document offering `versions`.
std::string apiGroup(const std::string& group, const std::vector<std::string>& versions);

}  // namespace remora::pilot::kubernetes::testing
