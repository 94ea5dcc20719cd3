// The trust bundle ConfigMaps against the fake API server over TLS: written in every namespace
// while leading and nothing while not; updated when the bundle changes; written only where the
// content differs (an existing right one is left alone, a wrong one fixed, a 409 read again);
// and, with two electors, only the leader's publisher writes, the other taking over when the
// leader stops.
#include "source/pilot/kubernetes/trust_bundle_publisher.h"

#include <gtest/gtest.h>

#include "source/pilot/kubernetes/json_value.h"
#include "source/pilot/kubernetes/leader_elector.h"
#include "test/pilot/kubernetes/api_client_fixture.h"

namespace remora::pilot::kubernetes {
namespace {

using namespace std::chrono_literals;

const std::string kBundle1 = "-----BEGIN CERTIFICATE-----\nONE\n-----END CERTIFICATE-----\n";
const std::string kBundle2 = "-----BEGIN CERTIFICATE-----\nTWO\n-----END CERTIFICATE-----\n";

std::string collection(const std::string& ns) { return "/api/v1/namespaces/" + ns + "/configmaps"; }
std::string configMap(const std::string& ns) { return collection(ns) + "/istio-ca-root-cert"; }

bool isWrite(const testing::RecordedRequest& request) {
  return request.method == "POST" || request.method == "PUT";
}

class TrustBundlePublisherTest : public testing::ApiClientFixture {
 protected:
  void SetUp() override {
    ApiClientFixture::SetUp();
    for (const char* ns : {"a", "b", "c", "d"}) {
      server_->storeCollection(collection(ns));
    }
  }

  std::unique_ptr<TrustBundlePublisher> publisher(const std::string& token) {
    TrustBundlePublisherOptions options;
    options.retry_period = 100ms;
    options.request_timeout = 1s;
    options.log = [](const std::string&) {};
    return std::make_unique<TrustBundlePublisher>(client(token), options);
  }

  // The bundle in `ns`'s ConfigMap, or "" when it has none.
  std::string published(const std::string& ns) {
    auto parsed = JsonValue::parse(server_->object(configMap(ns)));
    return parsed.ok() ? parsed.value().get("data").get("root-cert.pem").asString() : "";
  }

  bool allHold(const std::vector<std::string>& namespaces, const std::string& bundle) {
    for (const auto& ns : namespaces) {
      if (published(ns) != bundle) {
        return false;
      }
    }
    return true;
  }

  size_t writes() { return server_->countRequests(isWrite); }
};

TEST_F(TrustBundlePublisherTest, WritesEveryNamespaceOnlyWhileLeadingAndUpdatesOnChange) {
  auto writer = publisher("pilot");
  writer->setNamespaces({"a", "b", "c"});
  writer->setBundle(kBundle1);
  writer->start();
  // Not leading: not even a read. (A negative: this waits a fixed while, 3 retry periods.)
  std::this_thread::sleep_for(300ms);
  EXPECT_EQ(server_->countRequests([](const auto&) { return true; }), 0u);

  writer->setLeading(true);
  ASSERT_TRUE(waitUntil([&] { return allHold({"a", "b", "c"}, kBundle1); }));
  auto stored = JsonValue::parse(server_->object(configMap("b"))).value();
  EXPECT_EQ(stored.get("metadata").get("labels").get("istio.io/config").asString(), "true");
  EXPECT_EQ(writes(), 3u);  // three creates

  writer->setBundle(kBundle2);
  ASSERT_TRUE(waitUntil([&] { return allHold({"a", "b", "c"}, kBundle2); }));
  EXPECT_EQ(writes(), 6u);  // three updates

  writer->setLeading(false);
  writer->setBundle(kBundle1);
  writer->setNamespaces({"a", "b", "c", "d"});
  std::this_thread::sleep_for(300ms);
  EXPECT_EQ(writes(), 6u);
  EXPECT_TRUE(allHold({"a", "b", "c"}, kBundle2));
  EXPECT_EQ(published("d"), "");
}

TEST_F(TrustBundlePublisherTest, WritesOnlyWhereTheContentDiffers) {
  // b already right, c wrong (say, an older root), a and d missing.
  server_->putObject(configMap("b"), R"({"metadata":{"name":"istio-ca-root-cert"},"data":{)"
                                     R"("root-cert.pem":)" +
                                         JsonValue::quote(kBundle1) + "}}");
  server_->putObject(configMap("c"), R"({"metadata":{"name":"istio-ca-root-cert"},"data":{)"
                                     R"("root-cert.pem":"old"}})");
  auto writer = publisher("pilot");
  writer->setNamespaces({"a", "b", "c"});
  writer->setBundle(kBundle1);
  server_->conflictNextUpdate(configMap("c"));  // someone writes c between our read and write
  writer->setLeading(true);
  writer->start();
  ASSERT_TRUE(waitUntil([&] { return allHold({"a", "b", "c"}, kBundle1); }));
  EXPECT_EQ(server_->countRequests([](const auto& r) {
    return isWrite(r) && r.path.find("/namespaces/b/") != std::string::npos;
  }),
            0u);
  EXPECT_EQ(server_->conflicts(), 1u);

  // A namespace added: only it is written; the others are not even read again.
  size_t before = server_->requests().size();
  writer->setNamespaces({"a", "b", "c", "d"});
  ASSERT_TRUE(waitUntil([&] { return published("d") == kBundle1; }));
  auto requests = server_->requests();
  for (size_t i = before; i < requests.size(); ++i) {
    EXPECT_NE(requests[i].path.find("/namespaces/d/"), std::string::npos) << requests[i].path;
  }

  // A new leadership checks every namespace again: a ConfigMap changed meanwhile is fixed.
  writer->setLeading(false);
  server_->putObject(configMap("a"), R"({"metadata":{"name":"istio-ca-root-cert"},"data":{)"
                                     R"("root-cert.pem":"tampered"}})");
  writer->setLeading(true);
  ASSERT_TRUE(waitUntil([&] { return published("a") == kBundle1; }));
}

TEST_F(TrustBundlePublisherTest, OnlyTheElectedLeaderWritesAndTheOtherTakesOver) {
  server_->storeCollection("/apis/coordination.k8s.io/v1/namespaces/remora-system/leases");
  struct Pilot {
    std::unique_ptr<TrustBundlePublisher> publisher;
    std::unique_ptr<LeaderElector> elector;
  };
  auto pilot = [&](const std::string& name) {
    Pilot result;
    result.publisher = publisher(name);
    result.publisher->setNamespaces({"a", "b"});
    result.publisher->setBundle(kBundle1);
    result.publisher->start();
    LeaderElectorOptions options;
    options.identity = name;
    options.lease_duration = 1s;
    options.renew_deadline = 400ms;
    options.retry_period = 100ms;
    options.request_timeout = 300ms;
    TrustBundlePublisher* writer = result.publisher.get();
    LeaderElectorCallbacks callbacks{[writer] { writer->setLeading(true); },
                                     [writer](const std::string&) { writer->setLeading(false); },
                                     [](const std::string&) {}};
    result.elector = std::make_unique<LeaderElector>(client(name), options, callbacks);
    result.elector->start();
    return result;
  };
  Pilot one = pilot("pilot-1");
  ASSERT_TRUE(waitUntil([&] { return one.elector->isLeader(); }));
  Pilot two = pilot("pilot-2");
  ASSERT_TRUE(waitUntil([&] { return allHold({"a", "b"}, kBundle1); }));
  auto writes_by = [&](const std::string& name) {
    return server_->countRequests([&](const auto& r) {
      return isWrite(r) && r.path.find("/configmaps") != std::string::npos &&
             r.authorization == "Bearer " + name;
    });
  };
  EXPECT_EQ(writes_by("pilot-1"), 2u);
  EXPECT_EQ(writes_by("pilot-2"), 0u);

  one.elector->stop();  // releases the lease
  ASSERT_TRUE(waitUntil([&] { return two.elector->isLeader(); }));
  one.publisher->setBundle(kBundle2);  // the stopped replica no longer writes
  two.publisher->setBundle(kBundle2);
  ASSERT_TRUE(waitUntil([&] { return allHold({"a", "b"}, kBundle2); }));
  EXPECT_EQ(writes_by("pilot-1"), 2u);
  EXPECT_EQ(writes_by("pilot-2"), 2u);
  two.elector->stop();
}

}  // namespace
}  // namespace remora::pilot::kubernetes
