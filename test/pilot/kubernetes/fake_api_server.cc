#include "test/pilot/kubernetes/fake_api_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <pthread.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <cstdlib>

namespace remora::pilot::kubernetes::testing {

std::string RecordedRequest::param(const std::string& name) const {
  size_t start = 0;
  while (start <= query.size()) {
    size_t end = query.find('&', start);
    std::string pair =
        query.substr(start, end == std::string::npos ? std::string::npos : end - start);
    if (pair.compare(0, name.size() + 1, name + "=") == 0) {
      return pair.substr(name.size() + 1);
    }
    if (end == std::string::npos) {
      break;
    }
    start = end + 1;
  }
  return "";
}

void ResponseWriter::write(std::string_view data) {
  while (!data.empty()) {
    int n = SSL_write(ssl_, data.data(), static_cast<int>(data.size()));
    if (n <= 0) {
      return;  // the client went away; the script carries on harmlessly
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
}

void ResponseWriter::sendStatus(int status, const std::string& body) {
  write("HTTP/1.1 " + std::to_string(status) +
        " X\r\nContent-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) +
        "\r\nConnection: close\r\n\r\n" + body);
}

void ResponseWriter::startChunked(int status) {
  write("HTTP/1.1 " + std::to_string(status) +
        " X\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n"
        "Connection: close\r\n\r\n");
}

void ResponseWriter::chunk(std::string_view data) {
  if (data.empty()) {
    return;
  }
  char size[32];
  snprintf(size, sizeof(size), "%zx\r\n", data.size());
  write(std::string(size) + std::string(data) + "\r\n");
}

void ResponseWriter::endChunked() { write("0\r\n\r\n"); }

void ResponseWriter::holdOpen() {
  // Polling is fine here: nothing waits on this loop but the server's own shutdown.
  while (!stopping_()) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  drop();
}

FakeApiServer::FakeApiServer(const std::string& cert_pem, const std::string& key_pem, int port) {
  ctx_ = SSL_CTX_new(TLS_server_method());
  BIO* cert_bio = BIO_new_mem_buf(cert_pem.data(), static_cast<int>(cert_pem.size()));
  X509* cert = PEM_read_bio_X509(cert_bio, nullptr, nullptr, nullptr);
  BIO_free(cert_bio);
  BIO* key_bio = BIO_new_mem_buf(key_pem.data(), static_cast<int>(key_pem.size()));
  EVP_PKEY* key = PEM_read_bio_PrivateKey(key_bio, nullptr, nullptr, nullptr);
  BIO_free(key_bio);
  if (cert == nullptr || key == nullptr || SSL_CTX_use_certificate(ctx_, cert) != 1 ||
      SSL_CTX_use_PrivateKey(ctx_, key) != 1) {
    std::abort();  // the test PKI is broken: nothing below can work
  }
  X509_free(cert);
  EVP_PKEY_free(key);

  listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = htons(static_cast<uint16_t>(port));
  int one = 1;
  ::setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  socklen_t length = sizeof(address);
  if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0 ||
      ::listen(listen_fd_, 64) != 0 ||
      ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
    std::abort();
  }
  port_ = ntohs(address.sin_port);
  acceptor_ = std::thread([this] { acceptLoop(); });
}

FakeApiServer::~FakeApiServer() {
  {
    std::lock_guard lock(mutex_);
    stopping_.store(true);
    for (int fd : open_fds_) {
      ::shutdown(fd, SHUT_RDWR);
    }
  }
  changed_.notify_all();
  ::shutdown(listen_fd_, SHUT_RDWR);
  acceptor_.join();
  ::close(listen_fd_);
  std::vector<std::thread> connections;
  {
    std::lock_guard lock(mutex_);
    connections.swap(connections_);
  }
  for (auto& thread : connections) {
    thread.join();
  }
  SSL_CTX_free(ctx_);
}

void FakeApiServer::acceptLoop() {
  while (!stopping_.load()) {
    int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) {
      if (stopping_.load()) {
        return;
      }
      continue;
    }
    std::lock_guard lock(mutex_);
    if (stopping_.load()) {
      ::close(fd);
      return;
    }
    open_fds_.push_back(fd);
    connections_.emplace_back([this, fd] { serve(fd); });
  }
}

void FakeApiServer::serve(int fd) {
  // A client that went away must not end the test binary with SIGPIPE.
  sigset_t pipe;
  sigemptyset(&pipe);
  sigaddset(&pipe, SIGPIPE);
  pthread_sigmask(SIG_BLOCK, &pipe, nullptr);
  SSL* ssl = SSL_new(ctx_);
  SSL_set_fd(ssl, fd);
  if (SSL_accept(ssl) == 1) {
    std::string head;
    char buffer[4096];
    while (head.find("\r\n\r\n") == std::string::npos && head.size() < 65536) {
      int n = SSL_read(ssl, buffer, sizeof(buffer));
      if (n <= 0) {
        break;
      }
      head.append(buffer, static_cast<size_t>(n));
    }
    if (head.find("\r\n\r\n") != std::string::npos) {
      RecordedRequest request;
      size_t start = head.find(' ') + 1;
      std::string target = head.substr(start, head.find(' ', start) - start);
      size_t question = target.find('?');
      request.path = target.substr(0, question);
      request.query = question == std::string::npos ? "" : target.substr(question + 1);
      if (size_t auth = head.find("\r\nAuthorization: "); auth != std::string::npos) {
        size_t value = auth + 17;
        request.authorization = head.substr(value, head.find("\r\n", value) - value);
      }
      request.method = head.substr(0, head.find(' '));
      size_t body_start = head.find("\r\n\r\n") + 4;
      request.body = head.substr(body_start);
      if (size_t length = head.find("\r\nContent-Length: ");
          length != std::string::npos && length < body_start) {
        size_t wanted = std::strtoul(head.c_str() + length + 18, nullptr, 10);
        while (request.body.size() < wanted) {
          int n = SSL_read(ssl, buffer, sizeof(buffer));
          if (n <= 0) {
            break;
          }
          request.body.append(buffer, static_cast<size_t>(n));
        }
      }
      {
        std::lock_guard lock(mutex_);
        requests_.push_back(request);
      }
      changed_.notify_all();
      ResponseWriter writer(ssl, [this] { return stopping_.load(); });
      handle(request, writer);
      if (!writer.dropped()) {
        SSL_shutdown(ssl);
      }
    }
  }
  SSL_free(ssl);
  {
    std::lock_guard lock(mutex_);
    open_fds_.erase(std::remove(open_fds_.begin(), open_fds_.end(), fd), open_fds_.end());
  }
  ::close(fd);
}

void FakeApiServer::handle(const RecordedRequest& request, ResponseWriter& writer) {
  std::unique_lock lock(mutex_);
  if (std::none_of(accepted_tokens_.begin(), accepted_tokens_.end(), [&](const std::string& token) {
        return request.authorization == "Bearer " + token;
      })) {
    lock.unlock();
    writer.sendStatus(401, R"({"kind":"Status","code":401,"reason":"Unauthorized"})");
    return;
  }
  if (request.path.rfind("/apis/", 0) == 0 &&
      std::count(request.path.begin(), request.path.end(), '/') == 2) {
    auto group = groups_.find(request.path.substr(6));
    std::string body = group == groups_.end() ? "" : group->second;
    lock.unlock();
    writer.sendStatus(body.empty() ? 404 : 200, body.empty() ? R"({"code":404})" : body);
    return;
  }
  if (request.method == "POST" && request.path == "/apis/authentication.k8s.io/v1/tokenreviews") {
    TokenReviewHandler review = token_review_;
    lock.unlock();
    auto [status, body] = review ? review(request.body) : std::pair<int, std::string>{404, "{}"};
    writer.sendStatus(status, body);
    return;
  }
  int stored_status = 0;
  std::string stored_body;
  if (handleStored(request, stored_status, stored_body)) {
    lock.unlock();
    writer.sendStatus(stored_status, stored_body);
    return;
  }
  if (request.param("watch") == "1") {
    // The next scripted answer; until one is queued the request waits, unanswered, as a watch
    // with nothing to report would.
    changed_.wait(lock, [&] { return stopping_.load() || !watches_[request.path].empty(); });
    if (stopping_.load()) {
      writer.drop();
      return;
    }
    WatchScript script = std::move(watches_[request.path].front());
    watches_[request.path].pop_front();
    lock.unlock();
    script(writer);
    return;
  }
  auto pages = list_pages_.find(request.path);
  int status = list_status_.count(request.path) ? list_status_[request.path] : 0;
  if (status != 0 || pages == list_pages_.end()) {
    lock.unlock();
    writer.sendStatus(status != 0 ? status : 404, R"({"code":404})");
    return;
  }
  std::string token = request.param("continue");
  if (!token.empty() && continue_failures_.count(request.path)) {
    status = continue_failures_[request.path];
    continue_failures_.erase(request.path);
    lock.unlock();
    writer.sendStatus(status, "{\"code\":" + std::to_string(status) + "}");
    return;
  }
  size_t index =
      token.empty() ? 0 : std::strtoul(token.substr(token.find('-') + 1).c_str(), nullptr, 10);
  std::string body = index < pages->second.size() ? pages->second[index] : "";
  lock.unlock();
  if (body.empty()) {
    writer.sendStatus(410, R"({"kind":"Status","code":410,"reason":"Expired"})");
  } else {
    writer.sendStatus(200, body);
  }
}

void FakeApiServer::setAcceptedToken(const std::string& token) {
  std::lock_guard lock(mutex_);
  accepted_tokens_ = {token};
}

void FakeApiServer::addAcceptedToken(const std::string& token) {
  std::lock_guard lock(mutex_);
  accepted_tokens_.push_back(token);
}

void FakeApiServer::revokeToken(const std::string& token) {
  std::lock_guard lock(mutex_);
  accepted_tokens_.erase(std::remove(accepted_tokens_.begin(), accepted_tokens_.end(), token),
                         accepted_tokens_.end());
}

void FakeApiServer::setTokenReviewHandler(TokenReviewHandler handler) {
  std::lock_guard lock(mutex_);
  token_review_ = std::move(handler);
}

void FakeApiServer::setGroup(const std::string& group, const std::string& body) {
  std::lock_guard lock(mutex_);
  groups_[group] = body;
}

void FakeApiServer::setListPages(const std::string& collection, std::vector<std::string> pages) {
  std::lock_guard lock(mutex_);
  list_pages_[collection] = std::move(pages);
}

void FakeApiServer::setListStatus(const std::string& collection, int status) {
  std::lock_guard lock(mutex_);
  list_status_[collection] = status;
}

void FakeApiServer::failNextContinue(const std::string& collection, int status) {
  std::lock_guard lock(mutex_);
  continue_failures_[collection] = status;
}

void FakeApiServer::queueWatch(const std::string& collection, WatchScript script) {
  {
    std::lock_guard lock(mutex_);
    watches_[collection].push_back(std::move(script));
  }
  changed_.notify_all();
}

std::vector<RecordedRequest> FakeApiServer::requests() const {
  std::lock_guard lock(mutex_);
  return requests_;
}

RecordedRequest FakeApiServer::waitForRequest(
    const std::function<bool(const RecordedRequest&)>& match, std::chrono::milliseconds timeout) {
  std::unique_lock lock(mutex_);
  RecordedRequest found;
  changed_.wait_for(lock, timeout, [&] {
    for (const auto& request : requests_) {
      if (match(request)) {
        found = request;
        return true;
      }
    }
    return false;
  });
  return found;
}

bool FakeApiServer::waitForRequests(const std::function<bool(const RecordedRequest&)>& match,
                                    size_t count, std::chrono::milliseconds timeout) {
  std::unique_lock lock(mutex_);
  return changed_.wait_for(lock, timeout, [&] {
    return static_cast<size_t>(std::count_if(requests_.begin(), requests_.end(), match)) >= count;
  });
}

size_t FakeApiServer::countRequests(
    const std::function<bool(const RecordedRequest&)>& match) const {
  std::lock_guard lock(mutex_);
  return static_cast<size_t>(std::count_if(requests_.begin(), requests_.end(), match));
}

std::string watchEvent(const std::string& type, const std::string& object_json) {
  return R"({"type":")" + type + R"(","object":)" + object_json + "}\n";
}

std::string objectJson(const std::string& kind, const std::string& ns, const std::string& name,
                       const std::string& resource_version, const std::string& extra) {
  std::string metadata = R"({"name":")" + name + R"(")";
  if (!ns.empty()) {
    metadata += R"(,"namespace":")" + ns + R"(")";
  }
  metadata += R"(,"resourceVersion":")" + resource_version + R"("})";
  return R"({"kind":")" + kind + R"(","metadata":)" + metadata +
         (extra.empty() ? "" : "," + extra) + "}";
}

std::string listPage(const std::vector<std::string>& items, const std::string& resource_version,
                     const std::string& continue_token) {
  std::string body = R"({"kind":"List","metadata":{"resourceVersion":")" + resource_version +
                     R"(")" +
                     (continue_token.empty() ? "" : R"(,"continue":")" + continue_token + R"(")") +
                     R"(},"items":[)";
  for (size_t i = 0; i < items.size(); ++i) {
    body += (i > 0 ? "," : "") + items[i];
  }
  return body + "]}";
}

std::string apiGroup(const std::string& group, const std::vector<std::string>& versions) {
  std::string body = R"({"kind":"APIGroup","name":")" + group + R"(","versions":[)";
  for (size_t i = 0; i < versions.size(); ++i) {
    body += std::string(i > 0 ? "," : "") + R"({"groupVersion":")" + group + "/" + versions[i] +
            R"(","version":")" + versions[i] + R"("})";
  }
  return body + "]}";
}

}  // namespace remora::pilot::kubernetes::testing
