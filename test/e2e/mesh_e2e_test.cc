// End to end: remora-pilot serving the shipped mesh example (docs/examples/mesh), two
// upstream pods at 127.0.0.11:9080 and 127.0.0.12:9080 as the example says, and remora
// started from the shipped docs/examples/sidecar_bootstrap.yaml (its pilot and admin ports
// swapped for free ones). Traffic splits as configured; an edited VirtualService shifts
// traffic within a second with no failed request under steady load; a broken one leaves
// routing as it was and is reported; killing pilot changes nothing for traffic; a restarted
// pilot resyncs.

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "gtest/gtest.h"
#include "test/integration/fake_http_upstream.h"
#include "test/integration/proxy_process.h"

namespace remora::test {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

std::string readText(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

void replaceAll(std::string& text, const std::string& from, const std::string& to) {
  for (size_t at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size())) {
    text.replace(at, from.size(), to);
  }
}

// Written whole under another name, then renamed into the watched folder.
void writeManifest(const std::string& path, const std::string& content) {
  std::string tmp = path + ".tmp~";
  std::ofstream(tmp) << content;
  ASSERT_EQ(std::rename(tmp.c_str(), path.c_str()), 0);
}

class PilotProcess {
 public:
  ~PilotProcess() { kill(SIGKILL); }
  void start(const std::vector<std::string>& args, const std::string& log) {
    log_ = log;
    pid_ = fork();
    if (pid_ == 0) {
      int fd = open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
      dup2(fd, 1);
      dup2(fd, 2);
      std::vector<char*> argv;
      std::string binary = "source/pilot/remora-pilot";
      argv.push_back(binary.data());
      for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
      argv.push_back(nullptr);
      execv(argv[0], argv.data());
      _exit(127);
    }
  }
  void kill(int sig) {
    if (pid_ <= 0) return;
    ::kill(pid_, sig);
    waitpid(pid_, nullptr, 0);
    pid_ = -1;
  }
  std::string log() const { return readText(log_); }

 private:
  pid_t pid_ = -1;
  std::string log_;
};

class MeshE2eTest : public ::testing::Test {
 protected:
  // The shipped bootstrap uses the delta protocol; the state-of-the-world test swaps it.
  virtual std::string apiType() const { return "DELTA_GRPC"; }

  void SetUp() override {
    for (const char* version : {"v1", "v2"}) {
      std::string ip = std::string("127.0.0.1") + (version[1] == '1' ? "1" : "2");
      upstreams_.push_back(std::make_unique<FakeUpstream>(
          httpServe([version](const FakeRequest&) { return httpResponse(200, version); }), ip,
          9080));
    }
    manifests_ = makeTempDir();
    // The top level only: security/ holds the mTLS and authorization examples, which need
    // sidecars with a workload identity at both ends (the mini-cluster tests apply them).
    for (const auto& entry : std::filesystem::directory_iterator("docs/examples/mesh")) {
      if (!entry.is_regular_file()) continue;
      std::filesystem::copy_file(entry.path(), manifests_ + "/" + entry.path().filename().string());
    }
    pilot_port_ = unusedPort();
    monitoring_port_ = unusedPort();
    outbound_port_ = unusedPort();
    startPilot();
    std::string bootstrap = readText("docs/examples/sidecar_bootstrap.yaml");
    replaceAll(bootstrap, "port_value: 15010", "port_value: " + std::to_string(pilot_port_));
    replaceAll(bootstrap, "port_value: 15000", "port_value: 0");
    replaceAll(bootstrap, "api_type: DELTA_GRPC", "api_type: " + apiType());
    std::string error;
    ASSERT_TRUE(proxy_.start(bootstrap, {"--concurrency", "2"}, error)) << error << pilot_.log();
    outbound_ = "127.0.0.1:" + std::to_string(outbound_port_);
  }

  void startPilot() {
    pilot_.start(
        {"--manifests", manifests_, "--listen", "127.0.0.1:" + std::to_string(pilot_port_),
         "--monitoring", "127.0.0.1:" + std::to_string(monitoring_port_), "--outbound-address",
         "127.0.0.1:" + std::to_string(outbound_port_), "--ca-listen", "off"},
        manifests_ + "/../pilot.log");
    ASSERT_TRUE(waitFor([&] { return syncz().find("generation") != std::string::npos; }))
        << pilot_.log();
  }

  std::string syncz() {
    return httpRequest("127.0.0.1:" + std::to_string(monitoring_port_), "GET", "/debug/syncz").body;
  }

  // "v1" or "v2" (or "" on failure) for one request to reviews through the outbound listener.
  std::string reviews(const std::string& extra_header = "") {
    int fd = connectLoopback(outbound_port_);
    if (fd < 0) return "";
    std::string request =
        "GET / HTTP/1.1\r\nhost: reviews:9080\r\n" + extra_header + "connection: close\r\n\r\n";
    sendAll(fd, request);
    std::string response = recvUntilClosed(fd, seconds(5));
    ::close(fd);
    if (response.rfind("HTTP/1.1 200", 0) != 0) return "";
    return response.substr(response.size() - 2);
  }

  std::map<std::string, int> sample(int n) {
    std::map<std::string, int> counts;
    for (int i = 0; i < n; ++i) ++counts[reviews()];
    return counts;
  }

  std::vector<std::unique_ptr<FakeUpstream>> upstreams_;
  std::string manifests_;
  uint16_t pilot_port_ = 0;
  uint16_t monitoring_port_ = 0;
  uint16_t outbound_port_ = 0;
  std::string outbound_;
  PilotProcess pilot_;
  ProxyProcess proxy_;
};

TEST_F(MeshE2eTest, RoutesAsTheExampleSays) {
  auto counts = sample(400);
  EXPECT_EQ(counts[""], 0);
  // 80 / 20 with some room for chance (400 requests: 20 % is 80, sd ~8).
  EXPECT_GE(counts["v2"], 40) << counts["v1"] << "/" << counts["v2"];
  EXPECT_LE(counts["v2"], 120) << counts["v1"] << "/" << counts["v2"];
  for (int i = 0; i < 20; ++i) EXPECT_EQ(reviews("end-user: jason\r\n"), "v2");
  // Explicit proxy use, as in the example's comment.
  auto curl = runCommand({"/usr/bin/curl", "-s", "-m", "5", "-x", "http://" + outbound_,
                          "http://reviews.default.svc.cluster.local:9080/"});
  EXPECT_EQ(curl.exit_code, 0) << curl.output;
  EXPECT_TRUE(curl.output == "v1" || curl.output == "v2") << curl.output;
  auto direct = runCommand(
      {"/usr/bin/curl", "-s", "-m", "5", "-H", "Host: reviews:9080", "http://" + outbound_ + "/"});
  EXPECT_TRUE(direct.output == "v1" || direct.output == "v2") << direct.output;
  // Pilot shows the proxy and what it ACKed.
  auto status = syncz();
  EXPECT_NE(status.find("\"node_id\":\"sidecar~127.0.0.1~productpage-v1.default"),
            std::string::npos)
      << status;
  EXPECT_NE(status.find("\"acked_version\":\"1\""), std::string::npos) << status;
  EXPECT_EQ(status.find("\"nacks\":1"), std::string::npos) << status;
}

TEST_F(MeshE2eTest, EditsShiftTrafficWithinASecondWithoutFailures) {
  std::atomic<bool> stop{false};
  std::atomic<int> failures{0};
  std::atomic<int> total{0};
  std::thread load([&] {
    while (!stop) {
      if (reviews().empty()) ++failures;
      ++total;
    }
  });
  std::string routing = readText(manifests_ + "/reviews-routing.yaml");
  std::string all_v2 = routing;
  replaceAll(all_v2, "weight: 80", "weight: 0");
  replaceAll(all_v2, "weight: 20", "weight: 100");
  auto start = std::chrono::steady_clock::now();
  writeManifest(manifests_ + "/reviews-routing.yaml", all_v2);
  // Shifted once 50 requests in a row go to v2.
  int in_a_row = 0;
  while (in_a_row < 50 && std::chrono::steady_clock::now() - start < seconds(5)) {
    in_a_row = reviews() == "v2" ? in_a_row + 1 : 0;
  }
  auto took = std::chrono::duration_cast<milliseconds>(std::chrono::steady_clock::now() - start);
  EXPECT_EQ(in_a_row, 50);
  // The 50 confirming requests are included in the time.
  EXPECT_LT(took.count(), 1000) << "traffic took " << took.count() << " ms to shift";

  // A broken edit (weights of 150 and -50) is reported and changes nothing.
  std::string broken = routing;
  replaceAll(broken, "weight: 80", "weight: 150");
  replaceAll(broken, "weight: 20", "weight: -50");
  writeManifest(manifests_ + "/reviews-routing.yaml", broken);
  ASSERT_TRUE(waitFor([&] { return syncz().find("weight: must be 0..100") != std::string::npos; }))
      << syncz();
  EXPECT_NE(syncz().find("keeping its last good version"), std::string::npos);
  auto after = sample(100);
  EXPECT_EQ(after["v2"], 100);
  stop = true;
  load.join();
  EXPECT_EQ(failures.load(), 0) << "of " << total.load();
  EXPECT_GT(total.load(), 50);
}

TEST_F(MeshE2eTest, TrafficOutlivesPilotAndARestartedPilotResyncs) {
  pilot_.kill(SIGKILL);
  EXPECT_TRUE(waitFor([&] { return proxy_.metric("remora_xds_connected").value_or(1) == 0; }));
  auto counts = sample(100);
  EXPECT_EQ(counts[""], 0);
  EXPECT_EQ(counts["v1"] + counts["v2"], 100);
  // Meanwhile the routing changed; the restarted pilot serves it and the proxy follows.
  std::string routing = readText(manifests_ + "/reviews-routing.yaml");
  replaceAll(routing, "weight: 80", "weight: 100");
  replaceAll(routing, "weight: 20", "weight: 0");
  writeManifest(manifests_ + "/reviews-routing.yaml", routing);
  startPilot();
  EXPECT_TRUE(
      waitFor([&] { return proxy_.metric("remora_xds_connected").value_or(0) == 1; }, seconds(15)));
  EXPECT_TRUE(waitFor([&] { return sample(20)["v1"] == 20; }, seconds(10)));
}

class MeshStateOfTheWorldE2eTest : public MeshE2eTest {
 protected:
  std::string apiType() const override { return "GRPC"; }
};

TEST_F(MeshStateOfTheWorldE2eTest, RoutesAndFollowsEditsToo) {
  auto counts = sample(200);
  EXPECT_EQ(counts[""], 0);
  EXPECT_GE(counts["v2"], 15);
  EXPECT_LE(counts["v2"], 70);
  EXPECT_NE(syncz().find("\"mode\":\"sotw\""), std::string::npos) << syncz();
  std::string routing = readText(manifests_ + "/reviews-routing.yaml");
  replaceAll(routing, "weight: 80", "weight: 0");
  replaceAll(routing, "weight: 20", "weight: 100");
  writeManifest(manifests_ + "/reviews-routing.yaml", routing);
  EXPECT_TRUE(waitFor([&] { return sample(20)["v2"] == 20; }, seconds(5)));
}

}  // namespace
}  // namespace remora::test
