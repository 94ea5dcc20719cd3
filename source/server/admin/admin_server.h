#pragma once

// The admin HTTP endpoint operators and Prometheus talk to: a small HTTP/1.1 server (libevent's
// evhttp) on the main thread's event loop, routing exact paths to handlers. It owns the generic
// parts (routing, method rules, the `/` listing, errors); the server wires concrete handlers.
//
// Method rules: a handler that changes state (`mutates`) answers only POST; any other method gets
// 405. A read-only handler answers GET, HEAD and POST. HEAD gets GET's headers, Content-Length
// included, without the body. Methods other than GET, HEAD and POST always get 405.
//
// Who may change state: POST (the only method that changes anything: /quitquitquit, /logging's
// level, any `mutates` handler) is answered only to clients on a loopback address, whatever
// address the admin is bound to; another client gets 403 with a body saying why. In a pod,
// only the pod itself can then stop or reconfigure its proxy, even if admin is bound to the
// pod IP.

#include <cstdint>
#include <functional>
#include <map>
#include <string>

#include "source/common/event/libevent_dispatcher.h"
#include "source/common/network/accept_backoff.h"

struct evconnlistener;
struct evhttp;
struct evhttp_request;

namespace remora::server {

struct AdminResponse {
  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
};

struct AdminRequest {
  std::string method;          // "GET", "HEAD", "POST", ...
  std::string path;            // as received (not percent-decoded), without the query
  std::string query;           // after '?', empty when absent
  std::string peer;            // the client's address ("198.18.0.7:40112"), "" when unknown
  bool from_loopback = false;  // the client is on a loopback address
};

// Thread: everything, including the destructor and the handlers, runs on `dispatcher`'s thread
// (the main thread), or on any single thread while that dispatcher's loop is not running.
class AdminServer {
 public:
  // Does not bind until start(). `dispatcher` must outlive this server.
  explicit AdminServer(event::LibeventDispatcher& dispatcher);
  // Stops; the same rule as stop() applies.
  ~AdminServer();
  AdminServer(const AdminServer&) = delete;
  AdminServer& operator=(const AdminServer&) = delete;

  // Called for every request to its path; its return value is sent as-is. Runs on the event
  // loop, so it must not block.
  using Handler = std::function<AdminResponse(const AdminRequest&)>;

  // Routes the exact `path` (starting with '/', not "/" itself, which is the built-in listing)
  // to `handler`. `help` is the one-line description shown by `/`. `mutates`: the handler
  // changes state, so it requires POST (a GET is answered 405 and never reaches the handler).
  // A path registered twice aborts: it is a programming error. May be called after start().
  void addHandler(std::string path, std::string help, bool mutates, Handler handler);

  // Binds `ip` (an IPv4 or IPv6 literal; "[::1]" is accepted too) on `port` (0 = the OS picks)
  // and starts serving. Returns false and sets `error` on failure, or if already started.
  bool start(const std::string& ip, uint16_t port, std::string& error);

  // The bound port after a successful start(); 0 before start() and after stop().
  uint16_t port() const { return port_; }

  // Closes the listening socket and any open admin connections. Safe to call more than once.
  // Not from inside a handler (evhttp is still using the request): post it to the dispatcher.
  void stop();

 private:
  struct Endpoint {
    std::string help;
    bool mutates;
    Handler handler;
  };

  static void onRequest(evhttp_request* request, void* self);
  // accept() failed. For lack of descriptors or memory, accepting pauses with backoff: left
  // to evhttp, the loop would retry at once, forever, logging each time.
  static void onAcceptError(evconnlistener* listener, void* self);

 public:
  // Routes one parsed request. Sets `allow` (the Allow header of a 405) when it rejects a method.
  // Public for tests of the routing rules.
  AdminResponse respond(const AdminRequest& request, std::string& allow) const;

 private:
  AdminResponse listing() const;

  event::LibeventDispatcher& dispatcher_;
  // Sorted, so the `/` listing is stable.
  std::map<std::string, Endpoint> endpoints_;
  evhttp* http_ = nullptr;
  evconnlistener* listener_ = nullptr;  // owned by http_
  network::AcceptBackoff accept_backoff_;
  event::TimerPtr accept_resume_timer_;
  uint16_t port_ = 0;
};

}  // namespace remora::server
