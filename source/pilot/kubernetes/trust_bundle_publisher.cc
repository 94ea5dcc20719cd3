#include "source/pilot/kubernetes/trust_bundle_publisher.h"

#include <iostream>

#include "source/pilot/kubernetes/json_value.h"

namespace remora::pilot::kubernetes {

TrustBundlePublisher::TrustBundlePublisher(HttpsClient& client, TrustBundlePublisherOptions options)
    : client_(client), options_(std::move(options)) {}

TrustBundlePublisher::~TrustBundlePublisher() { stop(); }

void TrustBundlePublisher::start() {
  thread_ = std::thread([this] { run(); });
}

void TrustBundlePublisher::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_.store(true);
  }
  changed_.notify_all();
  if (thread_.joinable()) {
    thread_.join();
  }
}

void TrustBundlePublisher::setLeading(bool leading) {
  {
    std::lock_guard lock(mutex_);
    if (leading && !leading_) {
      new_leadership_ = true;
    }
    leading_ = leading;
    dirty_ = true;
  }
  changed_.notify_all();
}

void TrustBundlePublisher::setBundle(std::string pem) {
  {
    std::lock_guard lock(mutex_);
    bundle_ = std::move(pem);
    dirty_ = true;
  }
  changed_.notify_all();
}

void TrustBundlePublisher::setNamespaces(std::vector<std::string> namespaces) {
  {
    std::lock_guard lock(mutex_);
    namespaces_ = std::move(namespaces);
    dirty_ = true;
  }
  changed_.notify_all();
}

void TrustBundlePublisher::log(const std::string& message) const {
  std::string line = "trust bundle ConfigMap " + options_.config_map_name + ": " + message;
  if (options_.log) {
    options_.log(line);
  } else {
    std::cerr << line << "\n";
  }
}

void TrustBundlePublisher::run() {
  std::unique_lock lock(mutex_);
  while (!stopping_.load()) {
    changed_.wait(lock, [&] { return stopping_.load() || (dirty_ && leading_); });
    if (stopping_.load()) {
      return;
    }
    dirty_ = false;
    if (new_leadership_) {
      confirmed_.clear();
      new_leadership_ = false;
    }
    std::string bundle = bundle_;
    std::vector<std::string> namespaces = namespaces_;
    lock.unlock();
    bool failed = false;
    if (!bundle.empty()) {
      for (const auto& ns : namespaces) {
        bool still_leading = [&] {
          std::lock_guard check(mutex_);
          return leading_ && !stopping_.load();
        }();
        if (!still_leading) {
          break;
        }
        auto confirmed = confirmed_.find(ns);
        if (confirmed != confirmed_.end() && confirmed->second == bundle) {
          continue;
        }
        if (publish(ns, bundle)) {
          confirmed_[ns] = bundle;
        } else {
          failed = true;
        }
      }
    }
    lock.lock();
    if (failed) {
      // Try again after the retry period, or sooner when something changes.
      changed_.wait_for(lock, options_.retry_period, [&] { return stopping_.load() || dirty_; });
      dirty_ = true;
    }
  }
}

std::string TrustBundlePublisher::configMapJson(const std::string& ns, const std::string& bundle,
                                                const std::string& resource_version) const {
  std::string metadata = R"({"name":)" + JsonValue::quote(options_.config_map_name) +
                         R"(,"namespace":)" + JsonValue::quote(ns) +
                         R"(,"labels":{"istio.io/config":"true",)"
                         R"("app.kubernetes.io/managed-by":"remora-pilot"})";
  if (!resource_version.empty()) {
    metadata += R"(,"resourceVersion":)" + JsonValue::quote(resource_version);
  }
  return R"({"apiVersion":"v1","kind":"ConfigMap","metadata":)" + metadata + R"(},"data":{)" +
         JsonValue::quote(options_.key) + ":" + JsonValue::quote(bundle) + "}}";
}

bool TrustBundlePublisher::publish(const std::string& ns, const std::string& bundle) {
  const std::string collection = "/api/v1/namespaces/" + ns + "/configmaps";
  const std::string path = collection + "/" + options_.config_map_name;
  std::string error;
  // Two tries: a 409 means another writer changed it between our read and write.
  for (int attempt = 0; attempt < 2 && !stopping_.load(); ++attempt) {
    std::string body;
    auto got = client_.get(path, options_.request_timeout, stopping_, body, 4 << 20);
    if (!got.ok()) {
      error = got.error();
      break;
    }
    std::string method;
    std::string resource_version;
    if (got.value() == 404) {
      method = "POST";
    } else if (got.value() == 200) {
      auto current = JsonValue::parse(body);
      if (!current.ok()) {
        error = "reading it: " + current.error();
        break;
      }
      if (current.value().get("data").get(options_.key).isString() &&
          current.value().get("data").get(options_.key).asString() == bundle) {
        return true;  // already right: no write
      }
      method = "PUT";
      resource_version = current.value().get("metadata").get("resourceVersion").asString();
    } else {
      error = "reading it: HTTP " + std::to_string(got.value());
      break;
    }
    std::string answer;
    auto sent = client_.send(method, method == "POST" ? collection : path,
                             configMapJson(ns, bundle, resource_version), options_.request_timeout,
                             stopping_, answer, 4 << 20);
    if (!sent.ok()) {
      error = sent.error();
      break;
    }
    if (sent.value() == 200 || sent.value() == 201) {
      log(std::string(method == "POST" ? "created" : "updated") + " in namespace " + ns);
      return true;
    }
    error = method + ": HTTP " + std::to_string(sent.value());
    if (sent.value() != 409) {
      break;
    }
  }
  if (!stopping_.load()) {
    log("namespace " + ns + ": not written (will retry): " + error);
  }
  return false;
}

}  // namespace remora::pilot::kubernetes
