#include "source/server/admin/admin_server.h"

#include <arpa/inet.h>
#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/listener.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <map>
#include <mutex>
#include <optional>
#include <utility>

#include "source/common/common/log_rate_limiter.h"
#include "source/common/common/logger.h"
#include "source/common/network/local_addresses.h"

namespace remora::server {
namespace {

constexpr const char* kReadOnlyMethods = "GET, HEAD, POST";

// The server behind each bound admin listener, for the accept error callback.
std::mutex g_listeners_mutex;
std::map<const evconnlistener*, AdminServer*> g_listeners;

void registerListener(const evconnlistener* listener, AdminServer* server) {
  std::lock_guard<std::mutex> lock(g_listeners_mutex);
  if (server == nullptr) {
    g_listeners.erase(listener);
  } else {
    g_listeners[listener] = server;
  }
}

AdminServer* serverOf(const evconnlistener* listener) {
  std::lock_guard<std::mutex> lock(g_listeners_mutex);
  auto it = g_listeners.find(listener);
  return it == g_listeners.end() ? nullptr : it->second;
}

const char* methodName(evhttp_cmd_type type) {
  switch (type) {
    case EVHTTP_REQ_GET:
      return "GET";
    case EVHTTP_REQ_POST:
      return "POST";
    case EVHTTP_REQ_HEAD:
      return "HEAD";
    case EVHTTP_REQ_PUT:
      return "PUT";
    case EVHTTP_REQ_DELETE:
      return "DELETE";
    case EVHTTP_REQ_OPTIONS:
      return "OPTIONS";
    case EVHTTP_REQ_TRACE:
      return "TRACE";
    case EVHTTP_REQ_CONNECT:
      return "CONNECT";
    case EVHTTP_REQ_PATCH:
      return "PATCH";
  }
  return "UNKNOWN";
}

AdminResponse plainText(int status, std::string body) {
  AdminResponse response;
  response.status = status;
  response.body = std::move(body);
  return response;
}

// Operators write IPv6 literals the URL way ("[::1]"); evhttp wants them bare.
std::string stripBrackets(const std::string& ip) {
  if (ip.size() >= 2 && ip.front() == '[' && ip.back() == ']') return ip.substr(1, ip.size() - 2);
  return ip;
}

// Only literals: the admin address must not depend on DNS being up at startup.
bool isIpLiteral(const std::string& ip) {
  in6_addr storage;
  return inet_pton(AF_INET, ip.c_str(), &storage) == 1 ||
         inet_pton(AF_INET6, ip.c_str(), &storage) == 1;
}

std::string hostPort(const std::string& ip, uint16_t port) {
  const bool v6 = ip.find(':') != std::string::npos;
  return (v6 ? "[" + ip + "]" : ip) + ":" + std::to_string(port);
}

uint16_t boundPort(int fd) {
  sockaddr_storage addr{};
  socklen_t len = sizeof(addr);
  if (getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) return 0;
  if (addr.ss_family == AF_INET6) return ntohs(reinterpret_cast<sockaddr_in6*>(&addr)->sin6_port);
  return ntohs(reinterpret_cast<sockaddr_in*>(&addr)->sin_port);
}

}  // namespace

AdminServer::AdminServer(event::LibeventDispatcher& dispatcher) : dispatcher_(dispatcher) {}

AdminServer::~AdminServer() { stop(); }

void AdminServer::addHandler(std::string path, std::string help, bool mutates, Handler handler) {
  if (path.empty() || path[0] != '/' || path == "/") {
    log::write(log::Level::critical, "admin: invalid handler path \"%s\"", path.c_str());
    std::abort();
  }
  Endpoint endpoint{std::move(help), mutates, std::move(handler)};
  if (!endpoints_.emplace(path, std::move(endpoint)).second) {
    log::write(log::Level::critical, "admin: handler for %s registered twice", path.c_str());
    std::abort();
  }
}

bool AdminServer::start(const std::string& ip, uint16_t port, std::string& error) {
  if (http_ != nullptr) {
    error = "admin server already started";
    return false;
  }
  const std::string address = stripBrackets(ip);
  if (!isIpLiteral(address)) {
    error = "admin address \"" + ip + "\" is not an IP address";
    return false;
  }
  http_ = evhttp_new(dispatcher_.base());
  if (http_ == nullptr) {
    error = "cannot create the admin HTTP server";
    return false;
  }
  // The admin answers GET, HEAD and POST. Other common methods are let through evhttp, which
  // would answer them 501, so that respond() can say 405 with an Allow header instead.
  evhttp_set_allowed_methods(http_, EVHTTP_REQ_GET | EVHTTP_REQ_HEAD | EVHTTP_REQ_POST |
                                        EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE | EVHTTP_REQ_OPTIONS |
                                        EVHTTP_REQ_PATCH);
  // Admin requests are tiny; these bound what one slow or hostile client can hold.
  evhttp_set_max_headers_size(http_, 16 * 1024);
  evhttp_set_max_body_size(http_, 64 * 1024);
  evhttp_set_timeout(http_, 30);
  evhttp_set_gencb(http_, &AdminServer::onRequest, this);

  // evhttp keeps errno from the failing socket call (EADDRINUSE, EACCES, ...).
  errno = 0;
  evhttp_bound_socket* socket = evhttp_bind_socket_with_handle(http_, address.c_str(), port);
  if (socket == nullptr) {
    const int err = errno;
    error = "cannot bind admin to " + hostPort(address, port) + ": " +
            (err != 0 ? std::strerror(err) : "unknown error");
    stop();
    return false;
  }
  port_ = boundPort(evhttp_bound_socket_get_fd(socket));
  listener_ = evhttp_bound_socket_get_listener(socket);
  registerListener(listener_, this);
  evconnlistener_set_error_cb(listener_, &AdminServer::onAcceptError);
  accept_resume_timer_ = dispatcher_.createTimer([this] {
    if (listener_ != nullptr) evconnlistener_enable(listener_);
  });
  REMORA_LOG(info, "admin listening on %s", hostPort(address, port_).c_str());
  return true;
}

void AdminServer::stop() {
  if (http_ == nullptr) return;
  accept_resume_timer_.reset();
  if (listener_ != nullptr) registerListener(listener_, nullptr);
  evhttp_free(http_);
  http_ = nullptr;
  listener_ = nullptr;
  port_ = 0;
}

void AdminServer::onAcceptError(evconnlistener* listener, void*) {
  // The callback's argument is evhttp's own (the listener's user data): find the server by its
  // listener instead.
  AdminServer* server = serverOf(listener);
  if (server == nullptr) return;
  int error = EVUTIL_SOCKET_ERROR();
  static log::LogRateLimiter limiter(std::chrono::seconds(10));
  if (!network::isResourceExhaustion(error)) {
    REMORA_LOG_RATE_LIMITED(limiter, warn, "admin port %u: accept failed: %s",
                            static_cast<unsigned>(server->port_), std::strerror(error));
    return;
  }
  std::chrono::milliseconds pause = server->accept_backoff_.onFailure();
  evconnlistener_disable(listener);
  server->accept_resume_timer_->enable(pause);
  REMORA_LOG_RATE_LIMITED(limiter, warn, "admin port %u: accept failed: %s; again in %lld ms",
                          static_cast<unsigned>(server->port_), std::strerror(error),
                          static_cast<long long>(pause.count()));
}

void AdminServer::onRequest(evhttp_request* req, void* self) {
  // A connection was accepted: the next accept failure starts from the shortest pause again.
  static_cast<AdminServer*>(self)->accept_backoff_.onSuccess();
  AdminRequest request;
  request.method = methodName(evhttp_request_get_command(req));
  const evhttp_uri* uri = evhttp_request_get_evhttp_uri(req);
  const char* path = uri != nullptr ? evhttp_uri_get_path(uri) : nullptr;
  request.path = path != nullptr && *path != '\0' ? path : "/";
  const char* query = uri != nullptr ? evhttp_uri_get_query(uri) : nullptr;
  request.query = query != nullptr ? query : "";
  if (evhttp_connection* connection = evhttp_request_get_connection(req)) {
    const sockaddr* sa = evhttp_connection_get_addr(connection);
    std::optional<network::Address> peer;
    if (sa != nullptr) {
      peer = network::Address::fromSockaddr(
          sa, sa->sa_family == AF_INET6 ? sizeof(sockaddr_in6) : sizeof(sockaddr_in));
    }
    if (peer) {
      request.peer = peer->asString();
      request.from_loopback = network::isLoopback(*peer);
    }
  }

  std::string allow;
  AdminResponse response = static_cast<AdminServer*>(self)->respond(request, allow);

  evkeyvalq* headers = evhttp_request_get_output_headers(req);
  evhttp_add_header(headers, "Content-Type", response.content_type.c_str());
  // Admin output is live state: never cached, never sniffed into HTML by a browser.
  evhttp_add_header(headers, "Cache-Control", "no-cache, max-age=0");
  evhttp_add_header(headers, "X-Content-Type-Options", "nosniff");
  if (!allow.empty()) evhttp_add_header(headers, "Allow", allow.c_str());
  if (request.method == "HEAD") {
    // evhttp leaves Content-Length out of HEAD replies yet would send whatever body it is given,
    // so give it none and state the length GET would have.
    evhttp_add_header(headers, "Content-Length", std::to_string(response.body.size()).c_str());
  } else {
    evbuffer_add(evhttp_request_get_output_buffer(req), response.body.data(), response.body.size());
  }
  // A null reason makes evhttp use the standard phrase for the status.
  evhttp_send_reply(req, response.status, nullptr, nullptr);
  REMORA_LOG(debug, "admin: %s %s -> %d", request.method.c_str(), request.path.c_str(),
             response.status);
}

AdminResponse AdminServer::respond(const AdminRequest& request, std::string& allow) const {
  const bool post = request.method == "POST";
  const bool read_only = request.method == "GET" || request.method == "HEAD" || post;
  if (request.path == "/") {
    if (read_only) return listing();
    allow = kReadOnlyMethods;
    return plainText(405, "use GET for /\n");
  }
  auto it = endpoints_.find(request.path);
  if (it == endpoints_.end()) {
    return plainText(404, "no admin endpoint " + request.path + "; GET / lists the endpoints\n");
  }
  const Endpoint& endpoint = it->second;
  if (post && !request.from_loopback) {
    // Checked before anything else about the endpoint runs: a pod next door must not be able
    // to stop this proxy or change how it logs.
    REMORA_LOG(debug, "admin: POST %s from %s refused: not a loopback client", request.path.c_str(),
               request.peer.empty() ? "an unknown address" : request.peer.c_str());
    return plainText(403, "POST " + request.path +
                              " changes server state and is answered only to clients on a "
                              "loopback address (127.0.0.1, ::1); this client is " +
                              (request.peer.empty() ? "unknown" : request.peer) + "\n");
  }
  if (endpoint.mutates && !post) {
    allow = "POST";
    return plainText(405, request.path + " changes server state: use POST\n");
  }
  if (!endpoint.mutates && !read_only) {
    allow = kReadOnlyMethods;
    return plainText(405, "use GET for " + request.path + "\n");
  }
  // An exception must not unwind through libevent's C frames; answer 500 instead.
  try {
    return endpoint.handler(request);
  } catch (const std::exception& e) {
    REMORA_LOG(error, "admin: handler for %s failed: %s", request.path.c_str(), e.what());
    return plainText(500, std::string("internal error: ") + e.what() + "\n");
  }
}

AdminResponse AdminServer::listing() const {
  std::string body = "admin endpoints:\n  /: this list\n";
  for (const auto& [path, endpoint] : endpoints_) {
    body += "  " + path + ": " + endpoint.help + "\n";
  }
  return plainText(200, std::move(body));
}

}  // namespace remora::server
