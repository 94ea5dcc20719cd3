// ns per pick for each balancer at 10 and 1,000 hosts (Google Benchmark). Not a test: run
// `bazel run -c opt //test/common/upstream:load_balancer_benchmark`.

#include <benchmark/benchmark.h>

#include <random>

#include "source/common/upstream/load_balancer_impl.h"

namespace remora::upstream {
namespace {

class FastRandom : public RandomGenerator {
 public:
  uint64_t random() override { return engine_(); }

 private:
  std::mt19937_64 engine_{7};
};

class FixedTime : public event::TimeSource {
 public:
  std::chrono::steady_clock::time_point monotonicTime() const override { return {}; }
};

class Key : public LoadBalancerContext {
 public:
  std::optional<uint64_t> hashKey() const override { return key++; }
  mutable uint64_t key = 0;
};

void pick(benchmark::State& state, LbConfig::Policy policy) {
  std::vector<HostConstSharedPtr> hosts;
  for (int64_t i = 0; i < state.range(0); ++i) {
    auto host = std::make_shared<Host>();
    host->address = *network::Address::fromIpPort(
        "10.1." + std::to_string(i / 250) + "." + std::to_string(i % 250 + 1), 80);
    host->active_requests = static_cast<uint64_t>(i % 7);
    hosts.push_back(host);
  }
  FastRandom random;
  FixedTime time;
  LbConfig config;
  config.policy = policy;
  auto lb = createLoadBalancer(config, hosts, random, time);
  Key key;
  for (auto _ : state) benchmark::DoNotOptimize(lb->chooseHost(&key));
}

BENCHMARK_CAPTURE(pick, least_request, LbConfig::Policy::kLeastRequest)->Arg(10)->Arg(1000);
BENCHMARK_CAPTURE(pick, peak_ewma, LbConfig::Policy::kPeakEwma)->Arg(10)->Arg(1000);
BENCHMARK_CAPTURE(pick, round_robin, LbConfig::Policy::kRoundRobin)->Arg(10)->Arg(1000);
BENCHMARK_CAPTURE(pick, random, LbConfig::Policy::kRandom)->Arg(10)->Arg(1000);
BENCHMARK_CAPTURE(pick, ring_hash, LbConfig::Policy::kRingHash)->Arg(10)->Arg(1000);
BENCHMARK_CAPTURE(pick, maglev, LbConfig::Policy::kMaglev)->Arg(10)->Arg(1000);

}  // namespace
}  // namespace remora::upstream

BENCHMARK_MAIN();
