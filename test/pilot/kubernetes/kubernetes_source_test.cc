// The Kubernetes source against a scripted API server over TLS: paged lists, watch events
// applied, bookmarks advancing the resourceVersion, 410 (status and ERROR event) relisting,
// events cut into tiny chunks, 401 with a rotated token file, a dropped watch resumed from the
// last resourceVersion, 5xx retried, API discovery (v1 preferred, v1beta1 fallback, a group
// installed late) and an untrusted server refused. Backoffs are milliseconds; every wait is on
// a condition with a deadline.
#include "source/pilot/kubernetes/kubernetes_source.h"

#include <gtest/gtest.h>

#include <condition_variable>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <mutex>

#include "test/pilot/kubernetes/fake_api_server.h"
#include "test/pilot/kubernetes/test_certificates.h"

namespace remora::pilot::kubernetes {
namespace {

using namespace std::chrono_literals;
using testing::apiGroup;
using testing::FakeApiServer;
using testing::listPage;
using testing::objectJson;
using testing::RecordedRequest;
using testing::ResponseWriter;
using testing::watchEvent;

constexpr char kServices[] = "/api/v1/services";
constexpr char kVirtualServicesV1[] = "/apis/networking.istio.io/v1/virtualservices";
constexpr char kVirtualServicesV1beta1[] = "/apis/networking.istio.io/v1beta1/virtualservices";

const ResourceKind kServiceKind = {"Service", "", {"v1"}, "services"};
const ResourceKind kVirtualServiceKind = {
    "VirtualService", "networking.istio.io", {"v1", "v1beta1"}, "virtualservices"};

std::string service(const std::string& name, const std::string& rv) {
  return objectJson("Service", "default", name, rv);
}

bool isList(const RecordedRequest& r, const std::string& path) {
  return r.path == path && r.param("watch").empty();
}
bool isWatch(const RecordedRequest& r, const std::string& path) {
  return r.path == path && r.param("watch") == "1";
}

class KubernetesSourceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    pki_ = testing::makeTestPki();
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
    options.token_refresh = 1h;  // only a 401 makes it read the file again
    options.reflector.initial_backoff = 5ms;
    options.reflector.max_backoff = 50ms;
    options.reflector.discovery_recheck = 50ms;
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
    return changed_.wait_for(lock, 10s, condition);
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
    return latest_[kind]->at(key)->get("metadata").get("resourceVersion").asString();
  }
  RecordedRequest waitForWatchFrom(const std::string& path, const std::string& rv) {
    return server_->waitForRequest([&](const RecordedRequest& r) {
      return isWatch(r, path) && r.param("resourceVersion") == rv;
    });
  }

  testing::TestPki pki_;
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
testing::WatchScript streamThenIdle(std::vector<std::string> chunks) {
  return [chunks](ResponseWriter& w) {
    w.startChunked(200);
    for (const std::string& chunk : chunks) {
      w.chunk(chunk);
    }
    w.holdOpen();
  };
}

TEST_F(KubernetesSourceTest, ListsInPagesThenAppliesWatchEvents) {
  server_->setListPages(kServices, {listPage({service("a", "3"), service("b", "4")}, "9", "page-1"),
                                    listPage({service("c", "5")}, "10")});
  server_->queueWatch(kServices, streamThenIdle({watchEvent("ADDED", service("d", "11")) +
                                                     watchEvent("MODIFIED", service("a", "12")),
                                                 watchEvent("DELETED", service("b", "13"))}));
  start({kServiceKind});
  ASSERT_TRUE(hasNames("Service", {"default/a", "default/c", "default/d"}));
  EXPECT_EQ(resourceVersionOf("Service", "default/a"), "12");
  EXPECT_TRUE(source_->synced());
  EXPECT_EQ(source_->snapshot("Service")->size(), 3u);
  {
    std::lock_guard lock(mutex_);
    EXPECT_EQ(synced_calls_, 1);
  }

  auto requests = server_->requests();
  ASSERT_GE(requests.size(), 3u);
  EXPECT_EQ(requests[0].path, kServices);
  EXPECT_EQ(requests[0].query, "limit=500");
  EXPECT_EQ(requests[0].authorization, "Bearer token-1");
  EXPECT_EQ(requests[1].query, "limit=500&continue=page-1");
  EXPECT_TRUE(isWatch(requests[2], kServices));
  EXPECT_EQ(requests[2].param("resourceVersion"), "10");  // the list's, not an item's
  EXPECT_EQ(requests[2].param("allowWatchBookmarks"), "true");
  int timeout = std::atoi(requests[2].param("timeoutSeconds").c_str());
  EXPECT_GE(timeout, 300);
  EXPECT_LE(timeout, 600);
}

TEST_F(KubernetesSourceTest, ExpiredContinueTokenListsFromTheStart) {
  server_->setListPages(kServices, {listPage({service("a", "3")}, "9", "page-1"),
                                    listPage({service("b", "4")}, "9")});
  server_->failNextContinue(kServices, 410);
  start({kServiceKind});
  ASSERT_TRUE(waitUntil([&] { return synced_calls_ == 1; }));
  EXPECT_EQ(namesLocked("Service"), (std::vector<std::string>{"default/a", "default/b"}));
  std::vector<std::string> queries;
  for (const auto& request : server_->requests()) {
    if (isList(request, kServices)) {
      queries.push_back(request.query);
    }
  }
  EXPECT_EQ(queries, (std::vector<std::string>{"limit=500", "limit=500&continue=page-1",
                                               "limit=500", "limit=500&continue=page-1"}));
}

TEST_F(KubernetesSourceTest, CallbacksMayReadTheSource) {
  server_->setListPages(kServices, {listPage({service("a", "3")}, "9")});
  KubernetesSource* raw = nullptr;
  size_t seen = 0;
  auto reading = KubernetesSource::create(
      options({kServiceKind}), {[&](const std::string& kind, Snapshot) {
                                  size_t size = raw->snapshot(kind)->size();  // no deadlock
                                  std::lock_guard lock(mutex_);
                                  seen = size + 1;
                                  changed_.notify_all();
                                },
                                nullptr});
  ASSERT_TRUE(reading.ok()) << reading.error();
  raw = reading.value().get();
  reading.value()->start();
  EXPECT_TRUE(waitUntil([&] { return seen == 2; }));
  reading.value()->stop();
}

TEST_F(KubernetesSourceTest, ObjectsAreTrimmedBeforeTheyAreKept) {
  const std::string bookkeeping = R"("spec":{"ports":[{"port":80}]},"status":{"loadBalancer":{}})";
  auto withBookkeeping = [&](const std::string& name, const std::string& rv) {
    std::string object = objectJson("Service", "default", name, rv, bookkeeping);
    // metadata gains managedFields and the last-applied annotation
    return object.replace(
        object.find(R"("resourceVersion")"), 0,
        R"("managedFields":[{"manager":"kubectl"}],"annotations":{)"
        R"("kubectl.kubernetes.io/last-applied-configuration":"{}","keep":"x"},)");
  };
  server_->setListPages(kServices, {listPage({withBookkeeping("a", "3")}, "9")});
  server_->queueWatch(kServices, streamThenIdle({watchEvent("ADDED", withBookkeeping("b", "11"))}));
  start({kServiceKind});
  ASSERT_TRUE(hasNames("Service", {"default/a", "default/b"}));
  for (const auto& [key, object] : *source_->snapshot("Service")) {
    const JsonValue& metadata = object->get("metadata");
    EXPECT_TRUE(metadata.get("managedFields").isNull()) << key;
    EXPECT_EQ(metadata.get("annotations").serialize(), R"({"keep":"x"})") << key;
    EXPECT_EQ(object->get("spec").get("ports").elements().size(), 1u) << key;
  }
}

TEST_F(KubernetesSourceTest, SnapshotsHandedOutNeverChange) {
  server_->setListPages(kServices, {listPage({service("a", "3")}, "9")});
  start({kServiceKind});
  ASSERT_TRUE(hasNames("Service", {"default/a"}));
  Snapshot before = source_->snapshot("Service");
  server_->queueWatch(kServices, streamThenIdle({watchEvent("ADDED", service("b", "11"))}));
  ASSERT_TRUE(hasNames("Service", {"default/a", "default/b"}));
  EXPECT_EQ(before->size(), 1u);
}

TEST_F(KubernetesSourceTest, SyncedOnlyAfterEveryKindIsListed) {
  server_->setListPages(kServices, {listPage({service("a", "3")}, "9")});
  server_->setGroup("networking.istio.io", apiGroup("networking.istio.io", {"v1"}));
  server_->setListStatus(kVirtualServicesV1, 503);
  start({kServiceKind, kVirtualServiceKind});
  ASSERT_TRUE(hasNames("Service", {"default/a"}));
  // The VirtualService list fails (503, retried with backoff): not synced meanwhile.
  auto failedLists = [] {
    return [](const RecordedRequest& r) { return isList(r, kVirtualServicesV1); };
  };
  ASSERT_TRUE(server_->waitForRequests(failedLists(), 2));
  EXPECT_FALSE(source_->synced());
  server_->setListPages(kVirtualServicesV1,
                        {listPage({objectJson("VirtualService", "default", "vs", "5")}, "9")});
  server_->setListStatus(kVirtualServicesV1, 0);
  ASSERT_TRUE(waitUntil([&] { return synced_calls_ == 1; }));
  EXPECT_TRUE(source_->synced());
  EXPECT_EQ(source_->snapshot("VirtualService")->size(), 1u);
}

TEST_F(KubernetesSourceTest, BookmarkAdvancesTheResourceVersionForTheNextWatch) {
  server_->setListPages(kServices, {listPage({service("a", "3")}, "9")});
  server_->queueWatch(kServices, [](ResponseWriter& w) {
    w.startChunked(200);
    w.chunk(watchEvent("BOOKMARK", R"({"kind":"Service","metadata":{"resourceVersion":"50"}})"));
    w.endChunked();  // the server's watch timeout: watch again, from the bookmark
  });
  start({kServiceKind});
  EXPECT_FALSE(waitForWatchFrom(kServices, "50").path.empty());
  EXPECT_EQ(server_->countRequests([](const RecordedRequest& r) { return isList(r, kServices); }),
            1u);
  std::lock_guard lock(mutex_);
  EXPECT_EQ(namesLocked("Service"), std::vector<std::string>{"default/a"});
}

TEST_F(KubernetesSourceTest, GoneAsStatusRelists) {
  server_->setListPages(kServices, {listPage({service("a", "3")}, "9")});
  server_->queueWatch(kServices, [this](ResponseWriter& w) {
    // Compacted past 9: the cluster as it is now is what the next list returns.
    server_->setListPages(kServices, {listPage({service("z", "30")}, "31")});
    w.sendStatus(410, R"({"kind":"Status","code":410,"reason":"Expired"})");
  });
  start({kServiceKind});
  ASSERT_TRUE(hasNames("Service", {"default/z"}));
  EXPECT_FALSE(waitForWatchFrom(kServices, "31").path.empty());
  EXPECT_EQ(server_->countRequests([](const RecordedRequest& r) { return isList(r, kServices); }),
            2u);
}

TEST_F(KubernetesSourceTest, GoneAsErrorEventRelists) {
  server_->setListPages(kServices, {listPage({service("a", "3")}, "9")});
  server_->queueWatch(kServices, [this](ResponseWriter& w) {
    server_->setListPages(kServices, {listPage({service("y", "40")}, "41")});
    w.startChunked(200);
    w.chunk(watchEvent("ERROR", R"({"kind":"Status","code":410,"reason":"Expired"})"));
    w.holdOpen();  // the client must act on the event, not wait for the stream's end
  });
  start({kServiceKind});
  ASSERT_TRUE(hasNames("Service", {"default/y"}));
  EXPECT_FALSE(waitForWatchFrom(kServices, "41").path.empty());
}

TEST_F(KubernetesSourceTest, EventsSplitIntoTinyChunksAreAllApplied) {
  server_->setListPages(kServices, {listPage({}, "9")});
  std::string stream =
      watchEvent("ADDED", service("a", "10")) + watchEvent("ADDED", service("b\u00e9", "11")) +
      watchEvent("BOOKMARK", R"({"metadata":{"resourceVersion":"12"}})") +
      watchEvent("MODIFIED", service("a", "13")) + watchEvent("DELETED", service("a", "14")) +
      watchEvent("ADDED", service("c", "15"));
  std::vector<std::string> chunks;
  for (size_t i = 0, size = 1; i < stream.size(); i += size, size = size % 3 + 1) {
    chunks.push_back(stream.substr(i, size));  // 1, 2, 3, 1, 2, 3... bytes
  }
  server_->queueWatch(kServices, streamThenIdle(chunks));
  start({kServiceKind});
  ASSERT_TRUE(hasNames("Service", {"default/b\xc3\xa9", "default/c"}));
}

TEST_F(KubernetesSourceTest, UnauthorizedRereadsTheRotatedTokenFile) {
  writeToken("token-0");  // expired: the server only accepts token-1
  server_->setListPages(kServices, {listPage({service("a", "3")}, "9")});
  start({kServiceKind});
  ASSERT_FALSE(server_
                   ->waitForRequest(
                       [](const RecordedRequest& r) { return r.authorization == "Bearer token-0"; })
                   .path.empty());
  EXPECT_FALSE(source_->synced());
  writeToken("token-1");  // the kubelet rotates the projected token
  ASSERT_TRUE(waitUntil([&] { return synced_calls_ == 1; }));
  EXPECT_EQ(source_->snapshot("Service")->size(), 1u);
  // token_refresh is an hour: only the 401 can have made it read the file again.
  auto requests = server_->requests();
  EXPECT_EQ(requests.back().authorization, "Bearer token-1");
}

TEST_F(KubernetesSourceTest, DroppedWatchResumesFromTheLastResourceVersion) {
  server_->setListPages(kServices, {listPage({service("a", "3")}, "9")});
  server_->queueWatch(kServices, [](ResponseWriter& w) {
    w.startChunked(200);
    w.chunk(watchEvent("ADDED", service("b", "11")));
    w.chunk("{\"type\":\"ADDED\",\"obj");  // half an event, then the connection breaks
    w.drop();
  });
  start({kServiceKind});
  ASSERT_TRUE(hasNames("Service", {"default/a", "default/b"}));
  EXPECT_FALSE(waitForWatchFrom(kServices, "11").path.empty());
  // Resumed, not relisted; the objects stayed in force meanwhile.
  EXPECT_EQ(server_->countRequests([](const RecordedRequest& r) { return isList(r, kServices); }),
            1u);
  EXPECT_EQ(source_->snapshot("Service")->size(), 2u);
}

TEST_F(KubernetesSourceTest, ServerErrorsOnWatchAreRetriedWithoutRelisting) {
  server_->setListPages(kServices, {listPage({service("a", "3")}, "9")});
  for (int i = 0; i < 3; ++i) {
    server_->queueWatch(kServices, [](ResponseWriter& w) { w.sendStatus(500, R"({"code":500})"); });
  }
  server_->queueWatch(kServices, streamThenIdle({watchEvent("ADDED", service("b", "11"))}));
  start({kServiceKind});
  ASSERT_TRUE(hasNames("Service", {"default/a", "default/b"}));
  EXPECT_EQ(server_->countRequests([](const RecordedRequest& r) { return isWatch(r, kServices); }),
            4u);
  EXPECT_EQ(server_->countRequests([](const RecordedRequest& r) { return isList(r, kServices); }),
            1u);
}

TEST_F(KubernetesSourceTest, PrefersV1AndFallsBackToV1beta1) {
  server_->setGroup("networking.istio.io", apiGroup("networking.istio.io", {"v1beta1", "v1"}));
  server_->setListPages(kVirtualServicesV1,
                        {listPage({objectJson("VirtualService", "default", "v1vs", "5")}, "9")});
  start({kVirtualServiceKind});
  ASSERT_TRUE(hasNames("VirtualService", {"default/v1vs"}));
  source_.reset();

  server_->setGroup("networking.istio.io", apiGroup("networking.istio.io", {"v1beta1"}));
  server_->setListPages(kVirtualServicesV1beta1,
                        {listPage({objectJson("VirtualService", "default", "old", "5")}, "9")});
  {
    std::lock_guard lock(mutex_);
    latest_.clear();
  }
  start({kVirtualServiceKind});
  ASSERT_TRUE(hasNames("VirtualService", {"default/old"}));
}

TEST_F(KubernetesSourceTest, GroupInstalledLateIsPickedUp) {
  server_->setListPages(kServices, {listPage({service("a", "3")}, "9")});
  start({kServiceKind, kVirtualServiceKind});
  // Istio's CRDs are not installed: that is no error, and the source is synced without them.
  ASSERT_TRUE(waitUntil([&] { return synced_calls_ == 1; }));
  EXPECT_TRUE(namesLocked("VirtualService").empty());
  auto discoveries = [] {
    return [](const RecordedRequest& r) { return r.path == "/apis/networking.istio.io"; };
  };
  // Looked for again (every discovery_recheck), not given up on.
  ASSERT_TRUE(server_->waitForRequests(discoveries(), 2));
  EXPECT_EQ(
      server_->countRequests([](const RecordedRequest& r) { return r.path == kVirtualServicesV1; }),
      0u);

  server_->setListPages(kVirtualServicesV1,
                        {listPage({objectJson("VirtualService", "default", "late", "5")}, "9")});
  server_->setGroup("networking.istio.io", apiGroup("networking.istio.io", {"v1"}));
  ASSERT_TRUE(hasNames("VirtualService", {"default/late"}));
  std::lock_guard lock(mutex_);
  EXPECT_EQ(synced_calls_, 1);
}

TEST_F(KubernetesSourceTest, UntrustedServerIsRefused) {
  testing::TestPki other = testing::makeTestPki();
  ASSERT_FALSE(other.ca_pem.empty());
  pki_.ca_pem = other.ca_pem;  // the source trusts a different cluster CA
  server_->setListPages(kServices, {listPage({service("a", "3")}, "9")});
  start({kServiceKind});
  ASSERT_TRUE(waitUntil([&] {
    for (const std::string& line : log_) {
      if (line.find("server certificate not trusted") != std::string::npos) {
        return true;
      }
    }
    return false;
  }));
  EXPECT_FALSE(source_->synced());
  EXPECT_TRUE(server_->requests().empty());  // no request (or token) ever reached it
}

}  // namespace
}  // namespace remora::pilot::kubernetes
