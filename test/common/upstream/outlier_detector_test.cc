// Outlier detection with a hand-driven clock: consecutive errors, success rate, failure
// percentage, ejection times growing and capped, the max-ejection share.

#include "source/common/upstream/outlier_detector.h"

#include "gtest/gtest.h"
#include "source/common/stats/store_impl.h"

namespace remora::upstream {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

std::vector<HostConstSharedPtr> makeHosts(size_t n) {
  std::vector<HostConstSharedPtr> hosts;
  for (size_t i = 0; i < n; ++i) {
    auto host = std::make_shared<Host>();
    host->address = *network::Address::fromIpPort("10.9.0." + std::to_string(i + 1), 80);
    hosts.push_back(host);
  }
  return hosts;
}

class OutlierDetectorTest : public ::testing::Test {
 protected:
  OutlierDetector::TimePoint now_{};
  stats::StoreImpl store_;
};

TEST_F(OutlierDetectorTest, ConsecutiveFiveHundredsEjectAndTheHostComesBack) {
  auto hosts = makeHosts(10);
  OutlierConfig config;
  config.consecutive_5xx = 3;
  OutlierDetector detector(config, hosts, "c", store_);
  detector.reportResult(*hosts[0], 500, now_);
  detector.reportResult(*hosts[0], 503, now_);
  detector.reportResult(*hosts[0], 200, now_);  // a success starts the count again
  detector.reportResult(*hosts[0], 500, now_);
  detector.reportResult(*hosts[0], 500, now_);
  EXPECT_TRUE(hosts[0]->healthy());
  detector.reportResult(*hosts[0], 502, now_);
  EXPECT_FALSE(hosts[0]->healthy());
  EXPECT_TRUE(detector.state(*hosts[0]).ejected);
  // Base ejection time 30 s: still out at 29 s, back at 30 s.
  detector.evaluate(now_ + seconds(29));
  EXPECT_FALSE(hosts[0]->healthy());
  detector.evaluate(now_ + seconds(30));
  EXPECT_TRUE(hosts[0]->healthy());
}

TEST_F(OutlierDetectorTest, EjectionTimeGrowsWithEachEjectionAndIsCapped) {
  auto hosts = makeHosts(10);
  OutlierConfig config;
  config.consecutive_5xx = 1;
  config.base_ejection_time = seconds(30);
  config.max_ejection_time = seconds(100);
  OutlierDetector detector(config, hosts, "c", store_);
  auto t = now_;
  for (auto expected : {seconds(30), seconds(60), seconds(90), seconds(100), seconds(100)}) {
    detector.reportResult(*hosts[0], 500, t);
    ASSERT_FALSE(hosts[0]->healthy());
    detector.evaluate(t + expected - milliseconds(1));
    EXPECT_FALSE(hosts[0]->healthy()) << expected.count();
    detector.evaluate(t + expected);
    EXPECT_TRUE(hosts[0]->healthy()) << expected.count();
    t += expected;
  }
  EXPECT_EQ(detector.state(*hosts[0]).ejections, 5u);
}

TEST_F(OutlierDetectorTest, LocalOriginFailuresAndGatewayErrors) {
  auto hosts = makeHosts(10);
  OutlierConfig config;
  config.consecutive_5xx = 0;
  config.consecutive_local_origin_failure = 2;
  config.consecutive_gateway_failure = 3;
  OutlierDetector detector(config, hosts, "c", store_);
  detector.reportResult(*hosts[0], 0, now_);
  detector.reportResult(*hosts[0], 0, now_);
  EXPECT_FALSE(hosts[0]->healthy());
  // 500 is not a gateway error: it breaks the run.
  detector.reportResult(*hosts[1], 503, now_);
  detector.reportResult(*hosts[1], 500, now_);
  detector.reportResult(*hosts[1], 504, now_);
  detector.reportResult(*hosts[1], 502, now_);
  EXPECT_TRUE(hosts[1]->healthy());
  detector.reportResult(*hosts[1], 503, now_);
  EXPECT_TRUE(hosts[1]->healthy());  // two of ten already out would pass 10%: held back
  detector.evaluate(now_ + seconds(30));
  detector.reportResult(*hosts[1], 503, now_ + seconds(30));
  detector.reportResult(*hosts[1], 503, now_ + seconds(30));
  detector.reportResult(*hosts[1], 503, now_ + seconds(30));
  EXPECT_FALSE(hosts[1]->healthy());
}

TEST_F(OutlierDetectorTest, MaxEjectionPercentButAlwaysOne) {
  auto hosts = makeHosts(3);
  OutlierConfig config;
  config.consecutive_5xx = 1;
  config.max_ejection_percent = 10;
  OutlierDetector detector(config, hosts, "c", store_);
  for (const auto& h : hosts) detector.reportResult(*h, 500, now_);
  int out = 0;
  for (const auto& h : hosts) out += !h->healthy();
  EXPECT_EQ(out, 1);
  config.max_ejection_percent = 100;
  auto more = makeHosts(3);
  OutlierDetector all(config, more, "d", store_);
  for (const auto& h : more) all.reportResult(*h, 500, now_);
  for (const auto& h : more) EXPECT_FALSE(h->healthy());
}

TEST_F(OutlierDetectorTest, SuccessRateOutlierIsEjectedAtTheInterval) {
  auto hosts = makeHosts(6);
  OutlierConfig config;
  config.consecutive_5xx = 0;
  config.consecutive_local_origin_failure = 0;
  config.success_rate_request_volume = 100;
  config.success_rate_minimum_hosts = 5;
  OutlierDetector detector(config, hosts, "c", store_);
  for (size_t i = 0; i < hosts.size(); ++i) {
    for (int r = 0; r < 200; ++r) {
      // Host 5 fails a third of its requests; the others one in a hundred.
      bool fail = i == 5 ? r % 3 == 0 : r % 100 == 0;
      detector.reportResult(*hosts[i], fail ? 500 : 200, now_);
    }
  }
  EXPECT_TRUE(hosts[5]->healthy());  // nothing happens between intervals
  detector.evaluate(now_ + seconds(10));
  EXPECT_FALSE(hosts[5]->healthy());
  for (size_t i = 0; i < 5; ++i) EXPECT_TRUE(hosts[i]->healthy());
  EXPECT_EQ(store_
                .counter("remora_cluster_outlier_ejections_total",
                         "Hosts ejected by outlier detection, by reason.",
                         {{"cluster", "c"}, {"reason", "success_rate"}})
                .value(),
            1u);
}

TEST_F(OutlierDetectorTest, TooFewRequestsOrHostsMeanNoSuccessRateEjection) {
  auto hosts = makeHosts(6);
  OutlierConfig config;
  config.consecutive_5xx = 0;
  OutlierDetector detector(config, hosts, "c", store_);
  for (size_t i = 0; i < hosts.size(); ++i) {
    for (int r = 0; r < 50; ++r) detector.reportResult(*hosts[i], i == 5 ? 500 : 200, now_);
  }
  detector.evaluate(now_ + seconds(10));
  EXPECT_TRUE(hosts[5]->healthy());
}

TEST_F(OutlierDetectorTest, FailurePercentage) {
  auto hosts = makeHosts(5);
  OutlierConfig config;
  config.consecutive_5xx = 0;
  config.failure_percentage_threshold = 50;
  config.failure_percentage_minimum_hosts = 5;
  config.failure_percentage_request_volume = 10;
  config.max_ejection_percent = 100;
  OutlierDetector detector(config, hosts, "c", store_);
  for (size_t i = 0; i < hosts.size(); ++i) {
    for (int r = 0; r < 20; ++r) {
      bool fail = i < 2 ? r % 4 != 0 : false;  // hosts 0 and 1 fail 75%
      detector.reportResult(*hosts[i], fail ? 503 : 200, now_);
    }
  }
  detector.evaluate(now_ + seconds(10));
  EXPECT_FALSE(hosts[0]->healthy());
  EXPECT_FALSE(hosts[1]->healthy());
  EXPECT_TRUE(hosts[2]->healthy());
}

}  // namespace
}  // namespace remora::upstream
