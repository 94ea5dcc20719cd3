// The Kubernetes source's access to the API server: 401 then a rotated token file, API
// discovery (v1 preferred, v1beta1 fallback, a group installed late), an untrusted server
// refused, and callbacks that read the source.
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
