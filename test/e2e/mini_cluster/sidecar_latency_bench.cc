// Added latency of sidecars: one request through two sidecars (client pod -> its sidecar ->
// server pod's sidecar -> nginx) against the same request pod to pod without sidecars, at a
// fixed request rate (h2load --rps), in the mini-cluster. Prints p50/p99 of each, the
// difference, and each sidecar's resident memory under that load. Root only.
//
//   bazel run -c opt //test/e2e/mini_cluster:sidecar_latency_bench -- [rps_per_conn] [seconds]
//   [rounds]

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <thread>

#include "test/e2e/mini_cluster/mini_cluster.h"
#include "test/integration/test_net.h"

using remora::test::e2e::MiniCluster;

namespace {

struct Percentiles {
  double p50 = 0, p99 = 0;
  size_t count = 0, failed = 0;
};

// h2load --log-file lines: start time (us), status, duration (us).
Percentiles fromLog(const std::string& path) {
  std::ifstream in(path);
  std::vector<double> us;
  Percentiles p;
  long long start;
  int status;
  double duration;
  while (in >> start >> status >> duration) {
    if (status != 200) ++p.failed;
    us.push_back(duration);
  }
  std::sort(us.begin(), us.end());
  p.count = us.size();
  if (!us.empty()) {
    p.p50 = us[us.size() / 2] / 1000.0;
    p.p99 = us[std::min(us.size() - 1, us.size() * 99 / 100)] / 1000.0;
  }
  return p;
}

uint64_t rssKb(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stoull(line.substr(6));
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  int rps = argc > 1 ? std::atoi(argv[1]) : 250;
  int seconds = argc > 2 ? std::atoi(argv[2]) : 10;
  int rounds = argc > 3 ? std::atoi(argv[3]) : 3;
  if (::getuid() != 0) {
    std::fprintf(stderr, "sidecar_latency_bench: needs root (network namespaces)\n");
    return 2;
  }
  MiniCluster cluster;
  std::string error;
  if (!cluster.start({}, error)) {
    std::fprintf(stderr, "%s\n", error.c_str());
    return 1;
  }
  cluster.addService({"reviews", "198.19.0.10", {{"app", "reviews"}}, {{"http", 9080}}});
  bool ok = cluster.addPod("reviews-1", "198.18.0.11", {{"app", "reviews"}}, true, error) &&
            cluster.addPod("plain-server", "198.18.0.31", {{"role", "plain"}}, false, error) &&
            cluster.addPod("plain-client", "198.18.0.30", {{"role", "plain"}}, false, error) &&
            cluster.addPod("productpage-1", "198.18.0.10", {{"app", "productpage"}}, true, error);
  if (!ok) {
    std::fprintf(stderr, "%s\n", error.c_str());
    return 1;
  }
  cluster.runNginx("reviews-1", 9080, "reviews-1");
  cluster.runNginx("plain-server", 9080, "plain");
  const int conns = 4;
  std::printf("fixed rate: %d conns x %d req/s = %d req/s, %d s per run, %d rounds, HTTP/1.1\n",
              conns, rps, conns * rps, seconds, rounds);
  auto run = [&](const std::string& pod, const std::string& url, const std::string& log) {
    std::remove(log.c_str());
    pid_t pid =
        cluster.spawn(pod,
                      {"/usr/bin/h2load", "--h1", "-c", std::to_string(conns), "--rps",
                       std::to_string(rps), "-D", std::to_string(seconds), "--log-file", log, url},
                      log + ".out");
    uint64_t rss_client = 0, rss_server = 0;
    int status = 0;
    while (::waitpid(pid, &status, WNOHANG) == 0) {
      rss_client = std::max(rss_client, rssKb(cluster.pod("productpage-1").sidecar_pid));
      rss_server = std::max(rss_server, rssKb(cluster.pod("reviews-1").sidecar_pid));
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
    return std::make_tuple(fromLog(log), rss_client, rss_server);
  };
  // Warm-up of both paths.
  run("productpage-1", "http://reviews:9080/", cluster.dir() + "/warm.log");
  std::vector<double> mesh50, mesh99, direct50, direct99;
  uint64_t client_rss = 0, server_rss = 0;
  size_t failed = 0;
  for (int r = 0; r < rounds; ++r) {
    auto [mesh, c_rss, s_rss] =
        run("productpage-1", "http://reviews:9080/", cluster.dir() + "/mesh.log");
    auto [direct, unused1, unused2] =
        run("plain-client", "http://198.18.0.31:9080/", cluster.dir() + "/direct.log");
    client_rss = std::max(client_rss, c_rss);
    server_rss = std::max(server_rss, s_rss);
    failed += mesh.failed + direct.failed;
    std::printf(
        "round %d: two sidecars p50 %.3f ms p99 %.3f ms (%zu req) | direct p50 %.3f ms "
        "p99 %.3f ms (%zu req)\n",
        r + 1, mesh.p50, mesh.p99, mesh.count, direct.p50, direct.p99, direct.count);
    mesh50.push_back(mesh.p50);
    mesh99.push_back(mesh.p99);
    direct50.push_back(direct.p50);
    direct99.push_back(direct.p99);
  }
  auto median = [](std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
  };
  std::printf("median: two sidecars p50 %.3f ms p99 %.3f ms; direct p50 %.3f ms p99 %.3f ms\n",
              median(mesh50), median(mesh99), median(direct50), median(direct99));
  std::printf("added by two sidecars: p50 +%.3f ms, p99 +%.3f ms\n",
              median(mesh50) - median(direct50), median(mesh99) - median(direct99));
  std::printf("sidecar RSS under load (max): client side %.1f MB, server side %.1f MB\n",
              client_rss / 1024.0, server_rss / 1024.0);
  std::printf("failed requests: %zu\n", failed);
  return failed == 0 ? 0 : 1;
}
