// Chaos, end to end, on the shipped docs/examples/resilience.yaml (its ports swapped for free
// ones): three upstreams, one answering 503 to every request (while passing its health
// check), one killed mid-run; 2,000 requests from curl. Retries, outlier detection and the
// health check must hide every failure from the client, and the metrics must show them.

#include <sys/socket.h>

#include <fstream>
#include <sstream>

#include "gtest/gtest.h"
#include "test/integration/fake_http_upstream.h"
#include "test/integration/proxy_process.h"

namespace remora::test {
namespace {

std::string replaceAll(std::string text, const std::string& from, const std::string& to) {
  for (size_t at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size())) {
    text.replace(at, from.size(), to);
  }
  return text;
}

FakeUpstream::ServeFn backend(const std::string& name, bool fail_requests) {
  return httpServe([name, fail_requests](const FakeRequest& r) {
    if (r.requestLine().find("/healthz") != std::string::npos) return httpResponse(200, "");
    return fail_requests ? httpResponse(503, "unavailable") : httpResponse(200, name);
  });
}

TEST(ChaosE2eTest, FailuresNeverReachTheClient) {
  auto failing = std::make_unique<FakeUpstream>(backend("failing", true));
  auto doomed = std::make_unique<FakeUpstream>(backend("doomed", false));
  auto steady = std::make_unique<FakeUpstream>(backend("steady", false));

  std::ifstream file("docs/examples/resilience.yaml");
  std::stringstream text;
  text << file.rdbuf();
  std::string config = text.str();
  ASSERT_NE(config.find("port_value: 18181"), std::string::npos);
  config =
      replaceAll(config, "port_value: 18181", "port_value: " + std::to_string(failing->port()));
  config = replaceAll(config, "port_value: 18182", "port_value: " + std::to_string(doomed->port()));
  config = replaceAll(config, "port_value: 18183", "port_value: " + std::to_string(steady->port()));
  config = replaceAll(config, "port_value: 10002", "port_value: 0");
  config = replaceAll(config, "port_value: 15000", "port_value: 0");

  ProxyProcess proxy;
  std::string error;
  ASSERT_TRUE(proxy.start(config, {"--concurrency", "2"}, error)) << error;
  std::string url = "http://127.0.0.1:" + std::to_string(proxy.listenerPort("http_in")) + "/api";

  // 20 rounds of 100 keep-alive requests, one curl each; the doomed upstream dies halfway.
  std::map<std::string, int> codes;
  for (int round = 0; round < 20; ++round) {
    if (round == 10) doomed.reset();
    std::vector<std::string> argv = {"/usr/bin/curl", "-s", "-m", "60", "-w", "%{http_code}\\n"};
    for (int i = 0; i < 100; ++i) argv.insert(argv.end(), {"-o", "/dev/null", url});
    std::stringstream out(runCommand(argv).output);
    std::string code;
    while (std::getline(out, code)) codes[code]++;
  }
  EXPECT_EQ(codes["200"], 2000) << "status counts: " << [&] {
    std::string all;
    for (auto& [c, n] : codes) all += c + "=" + std::to_string(n) + " ";
    return all;
  }();
  // What was hidden shows in the metrics: retries, and the 503-ing host ejected.
  EXPECT_GT(proxy.metric("remora_cluster_upstream_retries_total{cluster=\"pool\"}").value_or(0), 0);
  EXPECT_GE(proxy
                .metric("remora_cluster_outlier_ejections_total{cluster=\"pool\",reason="
                        "\"consecutive_5xx\"}")
                .value_or(0),
            1);
  std::string clusters = proxy.admin("GET", "/clusters").body;
  EXPECT_NE(clusters.find("pool::127.0.0.1:" + std::to_string(failing->port()) +
                          "::outlier_ejections::1"),
            std::string::npos)
      << clusters;
  // The example's other routes do what the example says (they have no retries, so the
  // failing host may answer them: only what the proxy itself does is checked).
  std::string base = "http://127.0.0.1:" + std::to_string(proxy.listenerPort("http_in"));
  auto status = [&](const std::string& path) {
    return runCommand({"/usr/bin/curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "-m", "10",
                       base + path})
        .output;
  };
  EXPECT_EQ(status("/fault/abort"), "503");
  auto before = std::chrono::steady_clock::now();
  status("/fault/delay");
  EXPECT_GE(std::chrono::steady_clock::now() - before, std::chrono::milliseconds(300));
  int limited = 0;
  for (int i = 0; i < 8; ++i) limited += status("/limited") == "429";
  EXPECT_GE(limited, 1) << "5 per second: 8 quick requests must meet the limit";
  std::cout << "chaos: 2000 requests, client-visible errors: " << 2000 - codes["200"]
            << ", retries: "
            << proxy.metric("remora_cluster_upstream_retries_total{cluster=\"pool\"}").value_or(0)
            << "\n";
}

}  // namespace
}  // namespace remora::test
