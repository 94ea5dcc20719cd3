#pragma once

// A scripted Kubernetes API server for tests: HTTPS on 127.0.0.1 (port 0) with a test CA's
// certificate, one thread per connection, one request per connection. It serves
//   - API discovery: GET /apis/<group> from setGroup() (404 when not set);
//   - list pages:    GET <collection>?limit=N[&continue=T] from setListPages() (the page whose
//                    index is T's number; the first page without T);
//   - watch streams: GET <collection>?watch=1... runs the next WatchScript queued by
//                    queueWatch() for that collection, which writes the whole answer (status
//                    included); until one is queued (or the server stops) the request waits;
//   - stored objects: in collections named by storeCollection(), GET/PUT/DELETE of
//                    <collection>/<name> and POST to <collection>, with resourceVersions from
//                    one counter, 409 on a create of an existing name or an update carrying a
//                    stale resourceVersion, 404 for a missing object;
//   - TokenReviews:  POST /apis/authentication.k8s.io/v1/tokenreviews answered by
//                    setTokenReviewHandler();
// refuses every request whose bearer token is not an accepted one (setAcceptedToken,
// addAcceptedToken) with 401, and records every request for the test to inspect or wait on.

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
  std::string method;
  std::string path;   // without the query
  std::string query;  // after '?', may be empty
  std::string authorization;
  std::string body;
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

  // Accepts only `token`.
  void setAcceptedToken(const std::string& token);
  // Accepts `token` too; revokeToken() stops accepting it (its requests get 401).
  void addAcceptedToken(const std::string& token);
  void revokeToken(const std::string& token);

  // Serves stored objects under `collection` (e.g. /api/v1/namespaces/a/configmaps).
  void storeCollection(const std::string& collection);
  // Writes `object_json` at `path` (<collection>/<name>) as another client would, giving it
  // the next resourceVersion. Returns that resourceVersion.
  std::string putObject(const std::string& path, const std::string& object_json);
  // The stored object at `path`, or "" when there is none.
  std::string object(const std::string& path) const;
  // The next PUT of `path` finds the object changed by another writer just before it (its
  // resourceVersion bumped), so it is answered 409 Conflict.
  void conflictNextUpdate(const std::string& path);
  // How many writes were answered 409 Conflict.
  size_t conflicts() const;

  // Answers each TokenReview: gets the request body, returns {status, response body}.
  using TokenReviewHandler = std::function<std::pair<int, std::string>(const std::string& body)>;
  void setTokenReviewHandler(TokenReviewHandler handler);

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
  // Answers a request for a stored object (with mutex_ held); false when `request` is not one.
  bool handleStored(const RecordedRequest& request, int& status, std::string& body);
  std::string storeWithNextVersion(const std::string& path, const std::string& object_json);

  SSL_CTX* ctx_ = nullptr;
  int listen_fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stopping_{false};
  std::thread acceptor_;

  mutable std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<std::thread> connections_;
  std::vector<int> open_fds_;
  std::vector<std::string> accepted_tokens_;
  std::vector<std::string> stored_collections_;
  std::map<std::string, std::string> objects_;
  std::vector<std::string> conflict_next_update_;
  size_t conflicts_ = 0;
  long long next_resource_version_ = 1000;
  TokenReviewHandler token_review_;
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
