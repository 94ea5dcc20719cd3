// Every load balancer with seeded randomness and a hand-driven clock: distributions,
// weights, consistent-hash stability under host changes, panic, skipping tried hosts.

#include "source/common/upstream/load_balancer_impl.h"

#include <map>
#include <random>

#include "gtest/gtest.h"
#include "source/common/upstream/host_health.h"

namespace remora::upstream {
namespace {

class SeededRandom : public RandomGenerator {
 public:
  explicit SeededRandom(uint64_t seed) : engine_(seed) {}
  uint64_t random() override { return engine_(); }

 private:
  std::mt19937_64 engine_;
};

class ManualTime : public event::TimeSource {
 public:
  std::chrono::steady_clock::time_point monotonicTime() const override { return now; }
  std::chrono::steady_clock::time_point now{};
};

std::vector<HostConstSharedPtr> makeHosts(size_t n, std::vector<uint32_t> weights = {}) {
  std::vector<HostConstSharedPtr> hosts;
  for (size_t i = 0; i < n; ++i) {
    auto host = std::make_shared<Host>();
    host->address = *network::Address::fromIpPort(
        "10.0." + std::to_string(i / 250) + "." + std::to_string(i % 250 + 1), 8080);
    host->weight = i < weights.size() ? weights[i] : 1;
    hosts.push_back(host);
  }
  return hosts;
}

class HashKey : public LoadBalancerContext {
 public:
  explicit HashKey(uint64_t key) : key_(key) {}
  std::optional<uint64_t> hashKey() const override { return key_; }

 private:
  uint64_t key_;
};

LbConfig config(LbConfig::Policy policy) {
  LbConfig c;
  c.policy = policy;
  return c;
}

class LoadBalancerTest : public ::testing::Test {
 public:
  std::map<const Host*, int> count(LoadBalancer& lb, int picks) {
    std::map<const Host*, int> seen;
    for (int i = 0; i < picks; ++i) seen[lb.chooseHost(nullptr).get()]++;
    return seen;
  }
  // Maps `keys` hash keys to hosts.
  std::vector<const Host*> assign(LoadBalancer& lb, int keys) {
    std::vector<const Host*> out;
    for (int k = 0; k < keys; ++k) {
      HashKey key(stableHash("user-" + std::to_string(k)));
      out.push_back(lb.chooseHost(&key).get());
    }
    return out;
  }

  SeededRandom random_{42};
  ManualTime time_;
};

TEST_F(LoadBalancerTest, EmptyClusterGivesNoHost) {
  for (auto policy :
       {LbConfig::Policy::kRoundRobin, LbConfig::Policy::kLeastRequest, LbConfig::Policy::kRandom,
        LbConfig::Policy::kRingHash, LbConfig::Policy::kMaglev, LbConfig::Policy::kPeakEwma}) {
    auto lb = createLoadBalancer(config(policy), {}, random_, time_);
    EXPECT_EQ(lb->chooseHost(nullptr), nullptr);
  }
}

TEST_F(LoadBalancerTest, RoundRobinInterleavesByWeight) {
  auto hosts = makeHosts(3, {5, 1, 1});
  auto lb = createLoadBalancer(config(LbConfig::Policy::kRoundRobin), hosts, random_, time_);
  std::string order;
  for (int i = 0; i < 7; ++i) {
    auto h = lb->chooseHost(nullptr);
    order += h == hosts[0] ? 'a' : h == hosts[1] ? 'b' : 'c';
  }
  EXPECT_EQ(order, "aabacaa");  // nginx's smooth sequence: never five a's in a row
}

TEST_F(LoadBalancerTest, RandomFollowsWeights) {
  auto hosts = makeHosts(3, {1, 2, 7});
  auto lb = createLoadBalancer(config(LbConfig::Policy::kRandom), hosts, random_, time_);
  auto seen = count(*lb, 10000);
  EXPECT_NEAR(seen[hosts[0].get()], 1000, 150);
  EXPECT_NEAR(seen[hosts[1].get()], 2000, 200);
  EXPECT_NEAR(seen[hosts[2].get()], 7000, 250);
}

TEST_F(LoadBalancerTest, LeastRequestPrefersTheLessLoadedWeightAware) {
  auto hosts = makeHosts(2);
  auto lb = createLoadBalancer(config(LbConfig::Policy::kLeastRequest), hosts, random_, time_);
  hosts[0]->active_requests = 10;
  hosts[1]->active_requests = 1;
  auto seen = count(*lb, 1000);
  // Two random choices: whenever both hosts are drawn, the idle one wins (about 3/4 overall).
  EXPECT_NEAR(seen[hosts[1].get()], 750, 60);
  // Weight 20 makes 10 in flight cheaper than 1 in flight at weight 1.
  auto weighted = makeHosts(2, {20, 1});
  auto wlb = createLoadBalancer(config(LbConfig::Policy::kLeastRequest), weighted, random_, time_);
  weighted[0]->active_requests = 10;
  weighted[1]->active_requests = 1;
  auto wseen = count(*wlb, 1000);
  EXPECT_GT(wseen[weighted[0].get()], 650);
}

TEST_F(LoadBalancerTest, LeastRequestSpreadsEvenlyWhenIdle) {
  auto hosts = makeHosts(4);
  auto lb = createLoadBalancer(config(LbConfig::Policy::kLeastRequest), hosts, random_, time_);
  auto seen = count(*lb, 8000);
  for (const auto& h : hosts) EXPECT_NEAR(seen[h.get()], 2000, 200);
}

void expectConsistentHashing(LbConfig::Policy policy, LoadBalancerTest& test,
                             std::vector<const Host*> (LoadBalancerTest::*assign)(LoadBalancer&,
                                                                                  int),
                             RandomGenerator& random, const event::TimeSource& time) {
  auto hosts = makeHosts(10);
  auto lb = createLoadBalancer(config(policy), hosts, random, time);
  auto before = (test.*assign)(*lb, 10000);
  // Same key, same host.
  EXPECT_EQ(before, (test.*assign)(*lb, 10000));
  std::map<const Host*, int> share;
  for (auto* h : before) share[h]++;
  for (const auto& h : hosts) EXPECT_NEAR(share[h.get()], 1000, 350) << h->address.asString();
  // One host removed: its keys move, hardly any other.
  auto fewer = hosts;
  fewer.erase(fewer.begin() + 3);
  auto lb2 = createLoadBalancer(config(policy), fewer, random, time);
  auto after = (test.*assign)(*lb2, 10000);
  int moved = 0;
  for (size_t k = 0; k < before.size(); ++k) {
    if (before[k] != hosts[3].get() && before[k] != after[k]) ++moved;
  }
  EXPECT_LT(moved, 10000 / 10 / 2) << "keys of hosts that stayed moved";
}

TEST_F(LoadBalancerTest, RingHashIsConsistentAndStable) {
  expectConsistentHashing(LbConfig::Policy::kRingHash, *this, &LoadBalancerTest::assign, random_,
                          time_);
}

TEST_F(LoadBalancerTest, MaglevIsConsistentAndStable) {
  expectConsistentHashing(LbConfig::Policy::kMaglev, *this, &LoadBalancerTest::assign, random_,
                          time_);
}

TEST_F(LoadBalancerTest, ConsistentHashingHonoursWeights) {
  for (auto policy : {LbConfig::Policy::kRingHash, LbConfig::Policy::kMaglev}) {
    auto hosts = makeHosts(2, {3, 1});
    auto lb = createLoadBalancer(config(policy), hosts, random_, time_);
    std::map<const Host*, int> share;
    for (auto* h : assign(*lb, 10000)) share[h]++;
    EXPECT_NEAR(share[hosts[0].get()], 7500, 600) << static_cast<int>(policy);
  }
}

TEST_F(LoadBalancerTest, UnhealthyHostsAreAvoidedUntilPanic) {
  for (auto policy :
       {LbConfig::Policy::kRoundRobin, LbConfig::Policy::kLeastRequest, LbConfig::Policy::kRandom,
        LbConfig::Policy::kRingHash, LbConfig::Policy::kMaglev, LbConfig::Policy::kPeakEwma}) {
    auto hosts = makeHosts(4);
    auto lb = createLoadBalancer(config(policy), hosts, random_, time_);
    setHealthFlag(*hosts[0], Host::kOutlierEjected, true);
    auto seen = count(*lb, 400);
    for (int k = 0; k < 400; ++k) {
      HashKey key(random_.random());
      seen[lb->chooseHost(&key).get()]++;
    }
    EXPECT_EQ(seen[hosts[0].get()], 0) << static_cast<int>(policy);
    // Three of four unhealthy: below the 50% threshold, so all four are used again.
    setHealthFlag(*hosts[1], Host::kFailedActiveHealthCheck, true);
    setHealthFlag(*hosts[2], Host::kFailedActiveHealthCheck, true);
    auto panic = count(*lb, 400);
    for (int k = 0; k < 400; ++k) {
      HashKey key(random_.random());
      panic[lb->chooseHost(&key).get()]++;
    }
    for (const auto& h : hosts) EXPECT_GT(panic[h.get()], 0) << static_cast<int>(policy);
    // Recovered: back to healthy hosts only.
    setHealthFlag(*hosts[1], Host::kFailedActiveHealthCheck, false);
    setHealthFlag(*hosts[2], Host::kFailedActiveHealthCheck, false);
    auto healed = count(*lb, 400);
    EXPECT_EQ(healed[hosts[0].get()], 0) << static_cast<int>(policy);
  }
}

class SkipFirst : public LoadBalancerContext {
 public:
  explicit SkipFirst(const Host* skip) : skip_(skip) {}
  bool shouldSkipHost(const Host& host) const override { return &host == skip_; }
  uint32_t hostSelectionRetryCount() const override { return 5; }

 private:
  const Host* skip_;
};

TEST_F(LoadBalancerTest, TriedHostsAreSkippedWhenOthersExist) {
  auto hosts = makeHosts(3);
  for (auto policy : {LbConfig::Policy::kRoundRobin, LbConfig::Policy::kRandom,
                      LbConfig::Policy::kLeastRequest}) {
    auto lb = createLoadBalancer(config(policy), hosts, random_, time_);
    SkipFirst skip(hosts[0].get());
    for (int i = 0; i < 300; ++i) EXPECT_NE(lb->chooseHost(&skip), hosts[0]);
  }
  // With one host there is nothing else to take.
  auto single = makeHosts(1);
  auto lb = createLoadBalancer(config(LbConfig::Policy::kRoundRobin), single, random_, time_);
  SkipFirst skip(single[0].get());
  EXPECT_EQ(lb->chooseHost(&skip), single[0]);
}

TEST_F(LoadBalancerTest, PeakEwmaShedsASlowHostAndWinsItBack) {
  auto hosts = makeHosts(2);
  auto lb = createLoadBalancer(config(LbConfig::Policy::kPeakEwma), hosts, random_, time_);
  using std::chrono::milliseconds;
  lb->onRequestComplete(*hosts[0], milliseconds(5));
  lb->onRequestComplete(*hosts[1], milliseconds(5));
  auto even = count(*lb, 1000);
  EXPECT_NEAR(even[hosts[0].get()], 500, 120);
  // One slow response is believed at once (the peak): of two choices, the slow host wins only
  // when it is both of them (a quarter of picks).
  lb->onRequestComplete(*hosts[1], milliseconds(500));
  auto shed = count(*lb, 1000);
  EXPECT_NEAR(shed[hosts[1].get()], 250, 60);
  // Fast answers bring it back only gradually, with time...
  time_.now += milliseconds(100);
  lb->onRequestComplete(*hosts[1], milliseconds(1));
  EXPECT_NEAR(count(*lb, 1000)[hosts[1].get()], 250, 60);
  // ...and after a while it is the faster host and takes most of the load.
  for (int i = 0; i < 100; ++i) {
    time_.now += milliseconds(1000);
    lb->onRequestComplete(*hosts[1], milliseconds(1));
  }
  EXPECT_NEAR(count(*lb, 1000)[hosts[1].get()], 750, 60);
}

}  // namespace
}  // namespace remora::upstream
