// Smooth weighted round robin (lb_policy ROUND_ROBIN), pick by pick.

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <string>
#include <vector>

#include "source/common/common/random_generator.h"
#include "source/common/upstream/load_balancer_impl.h"

namespace remora::upstream {
namespace {

class NoTime : public event::TimeSource {
 public:
  std::chrono::steady_clock::time_point monotonicTime() const override { return {}; }
};

// The ROUND_ROBIN balancer with nothing but hosts: round robin uses neither randomness nor time.
class RoundRobinBalancer {
 public:
  explicit RoundRobinBalancer(const std::vector<HostConstSharedPtr>& hosts)
      : lb_(createLoadBalancer(LbConfig{}, hosts, random_, time_)) {}
  HostConstSharedPtr pick() { return lb_->chooseHost(nullptr); }

 private:
  MersenneRandom random_;
  NoTime time_;
  LoadBalancerPtr lb_;
};

// Hosts 127.0.0.1:1, :2, ... with the given weights; a host is named by its port.
std::vector<HostConstSharedPtr> makeHosts(const std::vector<uint32_t>& weights) {
  std::vector<HostConstSharedPtr> hosts;
  for (size_t i = 0; i < weights.size(); ++i) {
    auto host = std::make_shared<Host>();
    host->address = *network::Address::fromIpPort("127.0.0.1", static_cast<uint16_t>(i + 1));
    host->weight = weights[i];
    hosts.push_back(std::move(host));
  }
  return hosts;
}

// Picks `n` hosts and returns their indexes (port - 1).
std::vector<int> pickIndexes(RoundRobinBalancer& balancer, int n) {
  std::vector<int> out;
  for (int i = 0; i < n; ++i) {
    auto host = balancer.pick();
    out.push_back(host ? host->address.port() - 1 : -1);
  }
  return out;
}

// The longest run of one host in `picks`.
int longestRun(const std::vector<int>& picks) {
  int best = 0;
  int run = 0;
  for (size_t i = 0; i < picks.size(); ++i) {
    run = (i > 0 && picks[i] == picks[i - 1]) ? run + 1 : 1;
    best = std::max(best, run);
  }
  return best;
}

TEST(RoundRobinTest, NoHostsPicksNull) {
  std::vector<HostConstSharedPtr> none;
  RoundRobinBalancer balancer(none);
  EXPECT_EQ(balancer.pick(), nullptr);
  EXPECT_EQ(balancer.pick(), nullptr);
}

TEST(RoundRobinTest, EqualWeightsRotateInOrder) {
  auto hosts = makeHosts({1, 1, 1});
  RoundRobinBalancer balancer(hosts);
  EXPECT_EQ(pickIndexes(balancer, 7), (std::vector<int>{0, 1, 2, 0, 1, 2, 0}));
  EXPECT_EQ(balancer.pick(), hosts[1]);

  auto heavy = makeHosts({4, 4});
  RoundRobinBalancer equal_heavy(heavy);
  EXPECT_EQ(pickIndexes(equal_heavy, 4), (std::vector<int>{0, 1, 0, 1}));
}

TEST(RoundRobinTest, SingleHostAlwaysPicked) {
  auto hosts = makeHosts({7});
  RoundRobinBalancer balancer(hosts);
  EXPECT_EQ(pickIndexes(balancer, 3), (std::vector<int>{0, 0, 0}));
}

TEST(RoundRobinTest, OneToThree) {
  auto hosts = makeHosts({1, 3});
  RoundRobinBalancer balancer(hosts);
  auto picks = pickIndexes(balancer, 4);
  EXPECT_EQ(std::count(picks.begin(), picks.end(), 0), 1);
  EXPECT_EQ(std::count(picks.begin(), picks.end(), 1), 3);
  // Smooth: the light host is not pushed to the end of the round.
  EXPECT_NE(picks, (std::vector<int>{1, 1, 1, 0}));
}

TEST(RoundRobinTest, TwoToThreeNeverRunsThreeInARow) {
  auto hosts = makeHosts({2, 3});
  RoundRobinBalancer balancer(hosts);
  auto picks = pickIndexes(balancer, 500);
  EXPECT_LE(longestRun(picks), 2);
  EXPECT_EQ(std::count(picks.begin(), picks.end(), 0), 200);
}

TEST(RoundRobinTest, FiveOneOneInterleavesTheHeavyHost) {
  auto hosts = makeHosts({5, 1, 1});
  RoundRobinBalancer balancer(hosts);
  // nginx's smooth weighted round robin: a a b a c a a.
  EXPECT_EQ(pickIndexes(balancer, 7), (std::vector<int>{0, 0, 1, 0, 2, 0, 0}));
  EXPECT_EQ(pickIndexes(balancer, 7), (std::vector<int>{0, 0, 1, 0, 2, 0, 0}));
}

// The header's promise: over any window of sum(weights) picks, each host gets exactly its
// weight.
TEST(RoundRobinTest, EveryWindowMatchesTheWeights) {
  const std::vector<std::vector<uint32_t>> cases = {
      {1, 1, 2}, {3, 5, 7}, {128, 1}, {2, 3, 5, 7, 11}, {10, 10, 1}};
  for (const auto& weights : cases) {
    auto hosts = makeHosts(weights);
    RoundRobinBalancer balancer(hosts);
    int total = 0;
    for (auto w : weights) total += static_cast<int>(w);
    auto picks = pickIndexes(balancer, total * 4);
    for (int start = 0; start + total <= static_cast<int>(picks.size()); ++start) {
      std::map<int, int> counts;
      for (int i = start; i < start + total; ++i) ++counts[picks[i]];
      for (size_t h = 0; h < weights.size(); ++h) {
        ASSERT_EQ(counts[static_cast<int>(h)], static_cast<int>(weights[h]))
            << "weights case starting " << weights[0] << ", window at " << start << ", host " << h;
      }
    }
  }
}

TEST(RoundRobinTest, BalancersKeepIndependentState) {
  auto hosts = makeHosts({1, 2});
  RoundRobinBalancer a(hosts);
  RoundRobinBalancer b(hosts);
  auto first = pickIndexes(a, 3);
  EXPECT_EQ(pickIndexes(b, 3), first);
}

}  // namespace
}  // namespace remora::upstream
