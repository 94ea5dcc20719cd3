#pragma once

// The fixture of the Kubernetes source tests: a scripted API server over TLS with a fresh test
// CA, a token file rotated the way the kubelet does it (rename), a source with millisecond
// backoffs whose callbacks record the latest snapshot per kind, and waits on those with a
// deadline.

#include <gtest/gtest.h>

#include <condition_variable>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>

#include "source/pilot/kubernetes/kubernetes_source.h"
#include "source/pilot/yaml_view.h"
#include "test/pilot/kubernetes/fake_api_server.h"
#include "test/pilot/kubernetes/test_certificates.h"

namespace remora::pilot::kubernetes::testing {

constexpr char kServices[] = "/api/v1/services";
constexpr char kVirtualServicesV1[] = "/apis/networking.istio.io/v1/virtualservices";
constexpr char kVirtualServicesV1beta1[] = "/apis/networking.istio.io/v1beta1/virtualservices";

const ResourceKind kServiceKind = {"Service", "", {"v1"}, "services"};
const ResourceKind kVirtualServiceKind = {
    "VirtualService", "networking.istio.io", {"v1", "v1beta1"}, "virtualservices"};

inline std::string service(const std::string& name, const std::string& rv) {
  return objectJson("Service", "default", name, rv);
}

inline bool isList(const RecordedRequest& r, const std::string& path) {
  return r.path == path && r.param("watch").empty();
}
inline bool isWatch(const RecordedRequest& r, const std::string& path) {
  return r.path == path && r.param("watch") == "1";
}

class KubernetesSourceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    pki_ = makeTestPki();
    ASSERT_FALSE(pki_.ca_pem.empty());
    server_ = std::make_unique<FakeApiServer>(pki_.server_cert_pem, pki_.server_key_pem);
    server_->setAcceptedToken("token-1");
    const char* tmp = std::getenv("TEST_TMPDIR");
    token_file_ = (std::filesystem::path(tmp ? tmp : "/tmp") /
                   ::testing::UnitTest::GetInstance()->current_test_info()->name())
                      .string() +
                  ".token";
    writeToken("token-1");
  }
  void TearDown() override {
    source_.reset();  // before the server: its threads talk to it
    server_.reset();
  }

  void writeToken(const std::string& token) {
    std::ofstream(token_file_ + ".new") << token << "\n";
    std::filesystem::rename(token_file_ + ".new", token_file_);  // atomically, as the kubelet
  }

  KubernetesSourceOptions options(std::vector<ResourceKind> kinds) {
    KubernetesSourceOptions options;
    options.connection.host = "127.0.0.1";
    options.connection.port = server_->port();
    options.connection.ca_pem = pki_.ca_pem;
    options.connection.token_file = token_file_;
    options.kinds = std::move(kinds);
    options.token_refresh = std::chrono::hours(1);  // only a 401 makes it read the file again
    options.reflector.initial_backoff = std::chrono::milliseconds(5);
    options.reflector.max_backoff = std::chrono::milliseconds(50);
    options.reflector.discovery_recheck = std::chrono::milliseconds(50);
    options.reflector.random = [] { return 0.5; };
    options.reflector.log = [this](const std::string& line) {
      {
        std::lock_guard lock(mutex_);
        log_.push_back(line);
      }
      changed_.notify_all();
    };
    return options;
  }

  void start(std::vector<ResourceKind> kinds) {
    auto source = KubernetesSource::create(options(std::move(kinds)),
                                           {[this](const std::string& kind, Snapshot objects) {
                                              std::lock_guard lock(mutex_);
                                              latest_[kind] = std::move(objects);
                                              ++changes_;
                                              changed_.notify_all();
                                            },
                                            [this] {
                                              std::lock_guard lock(mutex_);
                                              ++synced_calls_;
                                              changed_.notify_all();
                                            }});
    ASSERT_TRUE(source.ok()) << source.error();
    source_ = std::move(source).value();
    source_->start();
  }

  // Waits until `condition` (called under the mutex) holds, for up to 10 s.
  bool waitUntil(const std::function<bool()>& condition) {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, std::chrono::seconds(10), condition);
  }
  // The names (namespace/name) of `kind`'s latest objects, under the mutex.
  std::vector<std::string> namesLocked(const std::string& kind) {
    std::vector<std::string> names;
    if (latest_.count(kind)) {
      for (const auto& [key, object] : *latest_[kind]) {
        names.push_back(key);
      }
    }
    return names;
  }
  bool hasNames(const std::string& kind, const std::vector<std::string>& names) {
    return waitUntil([&] { return namesLocked(kind) == names; });
  }
  std::string resourceVersionOf(const std::string& kind, const std::string& key) {
    std::lock_guard lock(mutex_);
    return YamlView(latest_[kind]->at(key))["metadata"]["resourceVersion"].str();
  }
  RecordedRequest waitForWatchFrom(const std::string& path, const std::string& rv) {
    return server_->waitForRequest([&](const RecordedRequest& r) {
      return isWatch(r, path) && r.param("resourceVersion") == rv;
    });
  }

  TestPki pki_;
  std::unique_ptr<FakeApiServer> server_;
  std::unique_ptr<KubernetesSource> source_;
  std::string token_file_;

  std::mutex mutex_;
  std::condition_variable changed_;
  std::map<std::string, Snapshot> latest_;
  int changes_ = 0;
  int synced_calls_ = 0;
  std::vector<std::string> log_;
};

// A watch answer: 200, then `chunks` one HTTP chunk each, then held open (idle).
inline WatchScript streamThenIdle(std::vector<std::string> chunks) {
  return [chunks](ResponseWriter& w) {
    w.startChunked(200);
    for (const std::string& chunk : chunks) {
      w.chunk(chunk);
    }
    w.holdOpen();
  };
}

}  // namespace remora::pilot::kubernetes::testing
