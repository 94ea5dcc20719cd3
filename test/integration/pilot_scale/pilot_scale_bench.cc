// Scale of the real remora-pilot against a scripted Kubernetes API server (--kubeconfig) with
// simulated proxies on real delta discovery streams (each ACKing every response). Prints a
// table of figures next to the goals of issue 15; asserts nothing about timings.
//
//   bazel run -c opt //test/integration:pilot_scale_bench -- [--services N] [--pods M]
//       [--proxies P] [--changes K] [--namespaces NS]
//
// Defaults: 10,000 services, 50,000 pods, 1,000 proxies, 7 changes of each kind, 20
// namespaces. tools/bench/pilot_scale_bench.sh wraps it.

#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "test/integration/pilot_process.h"
#include "test/integration/pilot_scale/scale_cluster.h"
#include "test/integration/pilot_scale/simulated_proxy.h"
#include "test/integration/proxy_process.h"
#include "test/integration/test_net.h"
#include "test/pilot/kubernetes/test_certificates.h"

namespace {

using namespace remora::test;
namespace k8s = remora::pilot::kubernetes::testing;

constexpr const char* kEndpointType =
    "type.googleapis.com/remora.config.endpoint.v1.ClusterLoadAssignment";
constexpr const char* kRouteType = "type.googleapis.com/remora.config.route.v1.RouteConfiguration";

struct Options {
  ScaleShape shape;
  int proxies = 1000;
  int changes = 7;
};

Options parse(int argc, char** argv) {
  Options options;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string flag = argv[i];
    int value = std::atoi(argv[i + 1]);
    if (flag == "--services")
      options.shape.services = value;
    else if (flag == "--pods")
      options.shape.pods = value;
    else if (flag == "--proxies")
      options.proxies = value;
    else if (flag == "--changes")
      options.changes = value;
    else if (flag == "--namespaces")
      options.shape.namespaces = value;
    else {
      std::fprintf(stderr, "unknown flag %s\n", flag.c_str());
      std::exit(2);
    }
  }
  return options;
}

double statusMiB(pid_t pid, const std::string& field) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(field + ":", 0) == 0) return std::stod(line.substr(field.size() + 1)) / 1024;
  }
  return -1;
}

// User + system CPU seconds of `pid`.
double cpuSeconds(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::istringstream fields(stat.substr(stat.rfind(')') + 2));
  std::string field;
  double ticks = 0;
  for (int i = 3; i <= 15 && fields >> field; ++i) {
    if (i == 14 || i == 15) ticks += std::stod(field);  // utime, stime
  }
  return ticks / static_cast<double>(sysconf(_SC_CLK_TCK));
}

double ms(Clock::duration d) {
  return std::chrono::duration_cast<std::chrono::microseconds>(d).count() / 1000.0;
}

double percentile(std::vector<double> values, double p) {
  if (values.empty()) return -1;
  std::sort(values.begin(), values.end());
  size_t index = static_cast<size_t>(p * static_cast<double>(values.size() - 1) + 0.5);
  return values[std::min(index, values.size() - 1)];
}

// pilot_xds_pushes_total by type (short name) from /metrics.
std::map<std::string, long> pushes(const std::string& monitoring) {
  std::map<std::string, long> out;
  std::istringstream lines(httpRequest(monitoring, "GET", "/metrics").body);
  std::string line;
  const std::string prefix = "pilot_xds_pushes_total{type=\"";
  while (std::getline(lines, line)) {
    if (line.rfind(prefix, 0) != 0) continue;
    size_t end = line.find('"', prefix.size());
    std::string type = line.substr(prefix.size(), end - prefix.size());
    out[type.substr(type.rfind('.') + 1)] = std::stol(line.substr(line.rfind(' ') + 1));
  }
  return out;
}

long pushesOf(const std::map<std::string, long>& before, const std::map<std::string, long>& after,
              const std::string& type) {
  auto a = after.find(type);
  auto b = before.find(type);
  return (a == after.end() ? 0 : a->second) - (b == before.end() ? 0 : b->second);
}

struct ChangeFigures {
  std::vector<double> all_acked_ms;  // per change: change to the last concerned proxy's ACK
  std::vector<double> bytes;         // per proxy and change
  std::vector<double> resources;
  long concerned = 0;   // proxies subscribed to the changed resource, summed over changes
  long missed = 0;      // of those, ones that had not ACKed it by the deadline
  long pushes = 0;      // pilot_xds_pushes_total of the type, summed over changes
  long pushes_all = 0;  // of every type
};

class Bench {
 public:
  Bench(const Options& options, ScaleCluster& cluster, const std::string& monitoring)
      : options_(options), cluster_(cluster), monitoring_(monitoring) {}

  std::vector<std::unique_ptr<SimulatedProxy>>& proxies() { return proxies_; }
  ChangeProbe& probe() { return probe_; }

  // Pushes `event` to `feed` and waits until every proxy subscribed to `name` of `type_url`
  // has ACKed a response carrying it.
  void measureChange(WatchFeed& feed, const std::string& event, const std::string& type_url,
                     const std::string& name, ChangeFigures& figures) {
    std::vector<SimulatedProxy*> concerned;
    for (auto& proxy : proxies_) {
      if (proxy->subscribes(type_url, name)) concerned.push_back(proxy.get());
    }
    auto before = pushes(monitoring_);
    long generation;
    Clock::time_point since;
    {
      std::lock_guard<std::mutex> guard(probe_.lock);
      generation = ++probe_.generation;
      probe_.type_url = type_url;
      probe_.name = name;
      probe_.since = since = Clock::now();
    }
    feed.push(event);
    auto acked = [&] {
      for (SimulatedProxy* proxy : concerned) {
        if (proxy->probeResult().generation != generation) return false;
      }
      return true;
    };
    waitFor(acked, std::chrono::seconds(600));
    Clock::time_point last = since;
    for (SimulatedProxy* proxy : concerned) {
      ProbeResult result = proxy->probeResult();
      if (result.generation != generation) {
        ++figures.missed;
        continue;
      }
      last = std::max(last, result.acked);
      figures.bytes.push_back(static_cast<double>(result.bytes));
      figures.resources.push_back(static_cast<double>(result.resources));
    }
    figures.concerned += static_cast<long>(concerned.size());
    figures.all_acked_ms.push_back(ms(last - since));
    // Let the debounced push settle before counting it.
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    std::string short_type = type_url.substr(type_url.rfind('.') + 1);
    auto after = pushes(monitoring_);
    figures.pushes += pushesOf(before, after, short_type);
    for (const auto& [type, count] : after) figures.pushes_all += pushesOf(before, after, type);
  }

 private:
  const Options& options_;
  ScaleCluster& cluster_;
  std::string monitoring_;
  ChangeProbe probe_;
  std::vector<std::unique_ptr<SimulatedProxy>> proxies_;
};

void printChange(const char* what, const ChangeFigures& f, int proxies) {
  std::printf("%s (%zu changes)\n", what, f.all_acked_ms.size());
  std::printf("  change to last ACK:  p50 %.0f ms, p99 %.0f ms, max %.0f ms\n",
              percentile(f.all_acked_ms, 0.5), percentile(f.all_acked_ms, 0.99),
              percentile(f.all_acked_ms, 1.0));
  std::printf("  proxies concerned per change: %.0f of %d (missed by 600 s: %ld)\n",
              f.all_acked_ms.empty() ? 0.0 : double(f.concerned) / f.all_acked_ms.size(), proxies,
              f.missed);
  std::printf("  per proxy and change: %.0f bytes, %.1f resources (median)\n",
              percentile(f.bytes, 0.5), percentile(f.resources, 0.5));
  double changes = f.all_acked_ms.empty() ? 1.0 : double(f.all_acked_ms.size());
  std::printf("  pilot_xds_pushes_total per change: %.1f of the type, %.1f of all types\n",
              double(f.pushes) / changes, double(f.pushes_all) / changes);
}

}  // namespace

int main(int argc, char** argv) {
  Options options = parse(argc, argv);
  setvbuf(stdout, nullptr, _IOLBF, 0);  // progress lines show up as they happen
  rlimit files{65536, 65536};
  setrlimit(RLIMIT_NOFILE, &files);

  auto build_started = Clock::now();
  ScaleCluster cluster(options.shape);
  std::printf(
      "cluster: %d services, %d EndpointSlices, %d pods, %d namespaces, %zu "
      "VirtualServices; %d proxies (built in %.0f ms)\n",
      options.shape.services, options.shape.services,
      options.shape.services * cluster.podsPerService(), options.shape.namespaces,
      cluster.collections().count("/apis/networking.istio.io/v1/virtualservices")
          ? cluster.collections().at("/apis/networking.istio.io/v1/virtualservices").size()
          : 0,
      options.proxies, ms(Clock::now() - build_started));

  k8s::TestPki pki = k8s::makeTestPki();
  k8s::FakeApiServer server(pki.server_cert_pem, pki.server_key_pem);
  server.setAcceptedToken("bench");
  remora::pilot::testing::serveCollections(server, cluster.collections(), 500);
  WatchFeed slices, virtual_services;
  slices.attach(server, "/apis/discovery.k8s.io/v1/endpointslices");
  virtual_services.attach(server, "/apis/networking.istio.io/v1/virtualservices");

  std::string dir = makeTempDir();
  writeFile(dir + "/ca.pem", pki.ca_pem);
  writeFile(dir + "/kubeconfig",
            "apiVersion: v1\nkind: Config\ncurrent-context: c\n"
            "contexts: [{name: c, context: {cluster: x, user: u}}]\n"
            "clusters: [{name: x, cluster: {server: \"https://127.0.0.1:" +
                std::to_string(server.port()) + "\", certificate-authority: ca.pem}}]\n" +
                "users: [{name: u, user: {token: bench}}]\n");
  std::string monitoring = "127.0.0.1:" + std::to_string(unusedPort());
  std::string discovery = "127.0.0.1:" + std::to_string(unusedPort());
  PilotProcess pilot;
  auto started = Clock::now();
  pilot.start(
      {"--kubeconfig", dir + "/kubeconfig", "--listen", discovery, "--monitoring", monitoring},
      dir + "/pilot.log");
  bool ready = waitFor([&] { return httpRequest(monitoring, "GET", "/ready").status == 200; },
                       std::chrono::seconds(900));
  auto synced = Clock::now();
  if (!ready) {
    std::fprintf(stderr, "pilot did not become ready:\n%s\n", pilot.log().c_str());
    slices.close();
    virtual_services.close();
    return 1;
  }
  double sync_ms = ms(synced - started);
  double rss_sync = statusMiB(pilot.pid(), "VmRSS"), hwm_sync = statusMiB(pilot.pid(), "VmHWM");
  double cpu_sync = cpuSeconds(pilot.pid());
  std::printf("pilot ready after %.0f ms (log: %s/pilot.log)\n", sync_ms, dir.c_str());

  // The proxies: proxy i is a pod spread evenly over the services.
  Bench bench(options, cluster, monitoring);
  auto connect_started = Clock::now();
  for (int i = 0; i < options.proxies; ++i) {
    grpc::ChannelArguments args;
    args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);  // a connection per proxy, as in a mesh
    args.SetMaxReceiveMessageSize(-1);
    auto channel = grpc::CreateCustomChannel(discovery, grpc::InsecureChannelCredentials(), args);
    // Spread over the services and (by the offset i) over the namespaces.
    int service = static_cast<int>(
        (static_cast<long>(i) * options.shape.services / std::max(1, options.proxies) + i) %
        options.shape.services);
    remora::config::core::v1::Node node;
    node.set_id("sidecar-" + std::to_string(i));
    node.set_namespace_(cluster.namespaceOf(service));
    node.set_workload(cluster.serviceName(service) + "-0");
    node.set_service_account(cluster.serviceName(service));
    bench.proxies().push_back(std::make_unique<SimulatedProxy>(channel, node, bench.probe()));
    bench.proxies().back()->start();
  }
  auto all_full = [&] {
    for (auto& proxy : bench.proxies()) {
      if (!proxy->hasFullConfig()) return false;
    }
    return true;
  };
  bool full = waitFor(all_full, std::chrono::seconds(900));
  std::vector<double> full_ms;
  for (auto& proxy : bench.proxies()) {
    if (proxy->hasFullConfig()) full_ms.push_back(ms(proxy->fullConfigAt() - connect_started));
  }
  double rss_full = statusMiB(pilot.pid(), "VmRSS"), hwm_full = statusMiB(pilot.pid(), "VmHWM");
  double cpu_full = cpuSeconds(pilot.pid());
  std::printf("proxies with a full config ACKed: %zu of %d%s\n", full_ms.size(), options.proxies,
              full ? "" : " (gave up after 900 s)");

  ChangeFigures slice_figures, vs_figures;
  int version = 1000;
  for (int c = 0; c < options.changes; ++c) {
    int service = (c * 7919 + 13) % options.shape.services;
    bench.measureChange(
        slices, cluster.endpointSliceEvent(service, c % 2 == 0 ? 0 : 1, std::to_string(++version)),
        kEndpointType, cluster.httpClusterName(service), slice_figures);
  }
  int vs_count = (options.shape.services + 99) / 100;
  for (int c = 0; c < options.changes; ++c) {
    int service = ((c * 37) % vs_count) * 100;
    bench.measureChange(virtual_services,
                        cluster.virtualServiceEvent(service, 4000 + c, std::to_string(++version)),
                        kRouteType, "8080", vs_figures);
  }

  // Debouncing: 20 EndpointSlice changes of different services within a few milliseconds.
  auto burst_before = pushes(monitoring);
  for (int b = 0; b < 20; ++b) {
    int service = (b * 104729 + 5) % options.shape.services;
    slices.push(cluster.endpointSliceEvent(service, 1, std::to_string(++version)));
  }
  // Counted once pilot has pushed and finished: the count stays put for 3 s (at most 5 min).
  long settled = -1;
  int still = 0;
  for (int poll = 0; poll < 600 && still < 6; ++poll) {
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    long now = pushesOf(burst_before, pushes(monitoring), "ClusterLoadAssignment");
    // Nothing yet: pilot is still debouncing or translating.
    still = now == settled && now > 0 ? still + 1 : 0;
    settled = now;
  }
  long burst_pushes = pushesOf(burst_before, pushes(monitoring), "ClusterLoadAssignment");

  double rss_end = statusMiB(pilot.pid(), "VmRSS"), hwm_end = statusMiB(pilot.pid(), "VmHWM");
  double cpu_end = cpuSeconds(pilot.pid());

  std::printf("\n== remora-pilot scale: %d services, %d pods, %d proxies (delta xDS) ==\n",
              options.shape.services, options.shape.services * cluster.podsPerService(),
              options.proxies);
  std::printf("start to /ready (list of every kind + translation):  %.0f ms\n", sync_ms);
  std::printf("proxies connected to all full configs ACKed:  p50 %.0f ms, last %.0f ms\n",
              percentile(full_ms, 0.5), percentile(full_ms, 1.0));
  std::printf("%-28s %10s %10s %10s\n", "pilot", "VmRSS MiB", "VmHWM MiB", "CPU s");
  std::printf("%-28s %10.1f %10.1f %10.1f\n", "after sync (/ready)", rss_sync, hwm_sync, cpu_sync);
  std::printf("%-28s %10.1f %10.1f %10.1f\n", "all proxies configured", rss_full, hwm_full,
              cpu_full);
  std::printf("%-28s %10.1f %10.1f %10.1f   (goal: <= 300 MB)\n", "end", rss_end, hwm_end, cpu_end);
  printChange(
      "EndpointSlice change (EDS, goal: p99 to all ACKs <= 1 s, only the changed "
      "resource)",
      slice_figures, options.proxies);
  printChange("VirtualService change (RDS \"8080\")", vs_figures, options.proxies);
  std::printf(
      "burst of 20 EndpointSlice changes within ms: %ld EDS pushes, %d proxies "
      "(20 pushes per proxy without debouncing)\n",
      burst_pushes, options.proxies);

  for (auto& proxy : bench.proxies()) proxy->cancel();
  waitFor(
      [&] {
        for (auto& proxy : bench.proxies()) {
          if (!proxy->finished()) return false;
        }
        return true;
      },
      std::chrono::seconds(30));
  pilot.stop();
  slices.close();
  virtual_services.close();
  return 0;
}
