// Checks that a realistic exposition passes `promtool check metrics` (parsing and lint), the same
// check CI and operators run against a live scrape.

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <string>

#include "source/common/stats/process_stats.h"
#include "source/common/stats/store_impl.h"

namespace remora::stats {
namespace {

constexpr const char* kPromtool = "/usr/bin/promtool";

void addListener(Store& store, const std::string& listener) {
  const Labels labels = {{"listener", listener}};
  store.counter("remora_listener_downstream_cx_total", "Downstream connections accepted.", labels)
      .add(12);
  store.gauge("remora_listener_downstream_cx_active", "Open downstream connections.", labels)
      .set(3);
  for (const char* code_class : {"2xx", "4xx", "5xx"}) {
    Labels rq = labels;
    rq.emplace_back("response_code_class", code_class);
    store.counter("remora_http_downstream_rq_total", "Downstream HTTP requests completed.", rq)
        .add(100);
  }
}

void addCluster(Store& store, const std::string& cluster) {
  const Labels labels = {{"cluster", cluster}};
  store.counter("remora_cluster_upstream_rq_total", "Upstream requests sent.", labels).add(250);
  store.counter("remora_cluster_upstream_rq_retry_total", "Upstream request retries.", labels)
      .add(2);
  store.gauge("remora_cluster_upstream_cx_active", "Open upstream connections.", labels).set(4);
  store.gauge("remora_cluster_membership_healthy", "Healthy hosts in the cluster.", labels).set(3);
  store.callbackGauge("remora_cluster_membership_total_hosts", "Hosts in the cluster.", labels,
                      [] { return 3.0; });
}

std::string exposition() {
  StoreImpl store;
  addListener(store, "0.0.0.0_15001");
  addListener(store, "virtualInbound");
  addCluster(store, "outbound|9080||reviews.default.svc.cluster.local");
  addCluster(store, "inbound|8080||");
  // A label value needing every escape the format has.
  store
      .counter("remora_config_update_rejected_total", "Config updates rejected (NACKed).",
               {{"reason", "bad \"lb_policy\" \\ in\ncluster"}})
      .inc();
  registerProcessStats(store, 2, std::chrono::steady_clock::now());
  return store.prometheusText();
}

TEST(PromtoolLintTest, ExpositionPassesPromtoolCheckMetrics) {
  if (access(kPromtool, X_OK) != 0) GTEST_SKIP() << kPromtool << " is not installed";
  const std::string path = testing::TempDir() + "/remora_metrics.prom";
  {
    std::ofstream file(path);
    file << exposition();
  }
  const std::string command = std::string(kPromtool) + " check metrics < '" + path + "' 2>&1";
  std::FILE* pipe = popen(command.c_str(), "r");
  ASSERT_NE(pipe, nullptr);
  std::string output;
  char buffer[512];
  while (size_t n = std::fread(buffer, 1, sizeof(buffer), pipe)) output.append(buffer, n);
  const int status = pclose(pipe);
  EXPECT_EQ(output, "");
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
}

}  // namespace
}  // namespace remora::stats
