// Two electors against one fake API server over TLS, on a 1 s lease: exactly one leads; a
// leader that stops releases the lease and the other takes over at its next retry; a leader
// whose API access breaks steps down after the renew deadline and the other takes over once
// the lease has expired; a 409 on renewal is read again, not a lost leadership.
#include "source/pilot/kubernetes/leader_elector.h"

#include <gtest/gtest.h>

#include <mutex>

#include "test/pilot/kubernetes/api_client_fixture.h"

namespace remora::pilot::kubernetes {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

const std::string kLeases = "/apis/coordination.k8s.io/v1/namespaces/remora-system/leases";
const std::string kLease = kLeases + "/remora-pilot-leader";

// One replica: its elector and what its callbacks saw.
struct Replica {
  std::mutex mutex;
  int started = 0;
  int stopped = 0;
  std::vector<std::string> reasons;
  Clock::time_point started_at;
  Clock::time_point stopped_at;
  std::unique_ptr<LeaderElector> elector;

  int startedCount() {
    std::lock_guard lock(mutex);
    return started;
  }
  int stoppedCount() {
    std::lock_guard lock(mutex);
    return stopped;
  }
};

class LeaderElectorTest : public testing::ApiClientFixture {
 protected:
  void SetUp() override {
    ApiClientFixture::SetUp();
    server_->storeCollection(kLeases);
  }

  std::unique_ptr<Replica> replica(const std::string& identity,
                                   std::chrono::milliseconds lease = 1s,
                                   std::chrono::hours clock_skew = std::chrono::hours(0),
                                   std::chrono::milliseconds retry = 100ms) {
    auto result = std::make_unique<Replica>();
    Replica* self = result.get();
    LeaderElectorOptions options;
    options.identity = identity;
    options.lease_duration = lease;
    options.now = [clock_skew] { return std::chrono::system_clock::now() + clock_skew; };
    options.renew_deadline = 400ms;
    options.retry_period = retry;
    options.request_timeout = 300ms;
    LeaderElectorCallbacks callbacks;
    callbacks.on_started_leading = [self] {
      std::lock_guard lock(self->mutex);
      ++self->started;
      self->started_at = Clock::now();
    };
    callbacks.on_stopped_leading = [self](const std::string& reason) {
      std::lock_guard lock(self->mutex);
      ++self->stopped;
      self->stopped_at = Clock::now();
      self->reasons.push_back(reason);
    };
    callbacks.log = [](const std::string&) {};
    result->elector = std::make_unique<LeaderElector>(client(identity), options, callbacks);
    return result;
  }

  LeaseRecord lease() {
    auto parsed = JsonValue::parse(server_->object(kLease));
    return parsed.ok() ? LeaseRecord::fromJson(parsed.value()) : LeaseRecord{};
  }

  // Watches both for `duration`: never two leaders at once.
  static bool neverBothLead(Replica& a, Replica& b, std::chrono::milliseconds duration) {
    auto end = Clock::now() + duration;
    while (Clock::now() < end) {
      if (a.elector->isLeader() && b.elector->isLeader()) {
        return false;
      }
      std::this_thread::sleep_for(1ms);
    }
    return true;
  }
};

TEST_F(LeaderElectorTest, ExactlyOneOfTwoLeads) {
  auto a = replica("pilot-a");
  auto b = replica("pilot-b");
  a->elector->start();
  b->elector->start();
  ASSERT_TRUE(waitUntil([&] { return a->elector->isLeader() || b->elector->isLeader(); }));
  EXPECT_TRUE(neverBothLead(*a, *b, 1500ms));  // longer than the lease: renewals keep it
  Replica& leader = a->elector->isLeader() ? *a : *b;
  EXPECT_EQ(leader.startedCount(), 1);
  EXPECT_EQ(leader.stoppedCount(), 0);
  EXPECT_EQ(a->startedCount() + b->startedCount(), 1);
  LeaseRecord record = lease();
  EXPECT_EQ(record.holder_identity, &leader == a.get() ? "pilot-a" : "pilot-b");
  EXPECT_EQ(record.lease_duration_seconds, 1);
  EXPECT_EQ(record.lease_transitions, 0);
  EXPECT_NE(record.acquire_time, record.renew_time);  // renewed since it was taken
}

TEST_F(LeaderElectorTest, StoppedLeaderReleasesAndTheOtherTakesOverQuickly) {
  // A 2 s lease: without the release, b could take over only 2 s after it last saw a renew.
  auto a = replica("pilot-a", 2s);
  a->elector->start();
  ASSERT_TRUE(waitUntil([&] { return a->elector->isLeader(); }));
  auto b = replica("pilot-b", 2s);
  b->elector->start();
  // b has read the lease held by a (its second request: it waited a retry period since).
  ASSERT_TRUE(server_->waitForRequests(
      [](const auto& r) { return r.authorization == "Bearer pilot-b"; }, 2));
  auto stopping = Clock::now();
  a->elector->stop();
  EXPECT_FALSE(a->elector->isLeader());
  ASSERT_EQ(a->stoppedCount(), 1);  // before stop() returned
  EXPECT_EQ(a->reasons[0], "released the lease on stop");
  ASSERT_TRUE(waitUntil([&] { return b->elector->isLeader(); }, 5s));
  // A released lease is taken at the next retry (100 ms), not after the lease.
  EXPECT_LT(Clock::now() - stopping, 1s);
  LeaseRecord record = lease();
  EXPECT_EQ(record.holder_identity, "pilot-b");
  EXPECT_EQ(record.lease_transitions, 1);
}

TEST_F(LeaderElectorTest, LeaderThatCannotRenewStepsDownThenTheOtherTakesOverAfterExpiry) {
  auto a = replica("pilot-a");
  a->elector->start();
  ASSERT_TRUE(waitUntil([&] { return a->elector->isLeader(); }));
  auto b = replica("pilot-b");
  b->elector->start();
  ASSERT_TRUE(waitUntil([&] {
    return server_->countRequests(
               [](const auto& r) { return r.authorization == "Bearer pilot-b"; }) > 0;
  }));
  auto broken = Clock::now();
  server_->revokeToken("pilot-a");  // every request of a's now gets 401
  ASSERT_TRUE(waitUntil([&] { return a->stoppedCount() == 1; }, 5s));
  {
    std::lock_guard lock(a->mutex);
    EXPECT_GE(a->stopped_at - broken, 300ms);  // the renew deadline (400 ms) from the last renewal
    EXPECT_NE(a->reasons[0].find("renew deadline"), std::string::npos) << a->reasons[0];
  }
  EXPECT_FALSE(a->elector->isLeader());
  ASSERT_TRUE(waitUntil([&] { return b->elector->isLeader(); }, 5s));
  {
    std::lock_guard lock(b->mutex);
    std::lock_guard lock_a(a->mutex);
    EXPECT_GT(b->started_at, a->stopped_at);  // never two leaders
    // b saw the record last change at a's last renewal (at most a retry period and a request
    // before the break), then waited the whole 1 s lease.
    EXPECT_GE(b->started_at - broken, 800ms);
  }
  LeaseRecord record = lease();
  EXPECT_EQ(record.holder_identity, "pilot-b");
  EXPECT_EQ(record.lease_transitions, 1);
}

TEST_F(LeaderElectorTest, ReleaseAfterAStaleResourceVersionReadsTheLeaseAgain) {
  // A renewal that stop() cancelled may still have been written: the release then carries a
  // stale resourceVersion (409). The lease must be released all the same. A 3 s retry period:
  // no renewal uses up the conflict first.
  auto a = replica("pilot-a", 5s, std::chrono::hours(0), 3s);
  a->elector->start();
  ASSERT_TRUE(waitUntil([&] { return a->elector->isLeader(); }));
  server_->conflictNextUpdate(kLease);
  a->elector->stop();
  EXPECT_EQ(server_->conflicts(), 1u);
  EXPECT_EQ(lease().holder_identity, "");
  EXPECT_EQ(lease().lease_duration_seconds, 1);
}

TEST_F(LeaderElectorTest, ConflictOnRenewalIsReadAgainAndLeadershipKept) {
  auto a = replica("pilot-a");
  a->elector->start();
  ASSERT_TRUE(waitUntil([&] { return a->elector->isLeader(); }));
  server_->conflictNextUpdate(kLease);
  ASSERT_TRUE(waitUntil([&] { return server_->conflicts() >= 1; }));
  std::string before = lease().renew_time;
  ASSERT_TRUE(waitUntil([&] { return lease().renew_time != before; }));  // renewed after it
  EXPECT_TRUE(a->elector->isLeader());
  EXPECT_EQ(a->stoppedCount(), 0);
  EXPECT_EQ(lease().holder_identity, "pilot-a");
}

TEST_F(LeaderElectorTest, ClockSkewDoesNotTakeALiveLease) {
  auto a = replica("pilot-a");
  a->elector->start();
  ASSERT_TRUE(waitUntil([&] { return a->elector->isLeader(); }));
  // b's clock is an hour ahead: a renewTime compared with it looks long expired, but expiry is
  // timed from when b saw the record change, so a's renewals keep the lease.
  auto b = replica("pilot-b", 1s, std::chrono::hours(1));
  b->elector->start();
  EXPECT_TRUE(neverBothLead(*a, *b, 1500ms));
  EXPECT_EQ(b->startedCount(), 0);
  EXPECT_EQ(lease().holder_identity, "pilot-a");
}

TEST_F(LeaderElectorTest, LeaderThatFindsAnotherHolderStepsDownAtOnce) {
  auto a = replica("pilot-a");
  a->elector->start();
  ASSERT_TRUE(waitUntil([&] { return a->elector->isLeader(); }));
  LeaseRecord taken = lease();
  taken.holder_identity = "pilot-x";  // say, an operator's kubectl edit
  taken.resource_version.clear();
  server_->putObject(kLease, taken.toJson("remora-system", "remora-pilot-leader"));
  ASSERT_TRUE(waitUntil([&] { return a->stoppedCount() == 1; }, 2s));
  std::lock_guard lock(a->mutex);
  EXPECT_EQ(a->reasons[0], "lost the lease: the lease is held by pilot-x");
}

TEST(LeaseRecordTest, WritesAndReadsTheLeaseSpec) {
  LeaseRecord record{"pilot-a", 30,  "2026-12-08T00:10:00.000001Z", "2026-12-08T00:10:07.5Z",
                     3,         "42"};
  auto parsed = JsonValue::parse(record.toJson("remora-system", "leader"));
  ASSERT_TRUE(parsed.ok()) << parsed.error();
  EXPECT_EQ(parsed.value().get("metadata").get("namespace").asString(), "remora-system");
  LeaseRecord read = LeaseRecord::fromJson(parsed.value());
  EXPECT_TRUE(read.sameHolding(record));
  EXPECT_EQ(read.resource_version, "42");
  EXPECT_EQ(microTime(std::chrono::system_clock::time_point(
                std::chrono::microseconds(1796688356123456LL))),
            "2026-12-08T00:05:56.123456Z");
}

}  // namespace
}  // namespace remora::pilot::kubernetes
