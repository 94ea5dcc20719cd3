// The Kubernetes source's list and watch against a scripted API server over TLS: paged lists
// (and an expired continue token), watch events applied, snapshots immutable and trimmed,
// synced only when every kind is listed, bookmarks advancing the resourceVersion, 410 (status
// and ERROR event) relisting, events cut into 1-3 byte chunks, a dropped watch resumed from
// the last resourceVersion, 5xx retried without relisting. Every wait has a deadline.
#include "source/pilot/kubernetes/kubernetes_source.h"

#include <gtest/gtest.h>

#include "test/pilot/kubernetes/source_test_fixture.h"

namespace remora::pilot::kubernetes {
namespace {

using namespace std::chrono_literals;  // NOLINT: test settings read best as 5ms
using testing::apiGroup;
using testing::isList;
using testing::isWatch;
using testing::kServiceKind;
using testing::kServices;
using testing::KubernetesSourceTest;
using testing::kVirtualServiceKind;
using testing::kVirtualServicesV1;
using testing::kVirtualServicesV1beta1;
using testing::listPage;
using testing::objectJson;
using testing::RecordedRequest;
using testing::ResponseWriter;
using testing::service;
using testing::streamThenIdle;
using testing::watchEvent;

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
    YamlView metadata = YamlView(object)["metadata"];
    EXPECT_FALSE(metadata["managedFields"]) << key;
    EXPECT_EQ(YamlView(object)["kind"].str(), "Service") << key;
    EXPECT_EQ(metadata["annotations"].size(), 1u) << key;
    EXPECT_EQ(metadata["annotations"]["keep"].str(), "x") << key;
    EXPECT_EQ(YamlView(object)["spec"]["ports"].size(), 1u) << key;
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

}  // namespace
}  // namespace remora::pilot::kubernetes
