// Config scale benchmark (not a test): a real remora process fed over the delta ADS stream by
// the scripted control plane.
//   1. apply N services at once (an EDS cluster, its endpoints and a virtual host each);
//   2. change one endpoint, many times;
//   3. give 1,000 clusters 20 endpoints each (memory per endpoint);
// reporting wall time until the proxy ACKs, the proxy's CPU time (all threads, from
// /proc/<pid>/task/*/schedstat), resident memory, and the latency of steady HTTP traffic to
// one service while the pushes happen.
//
// Usage: xds_scale_bench [services=10000]

#include <dirent.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <fstream>
#include <future>
#include <thread>

#include "remora/config/cluster/v1/cluster.pb.h"
#include "remora/config/listener/v1/listener.pb.h"
#include "remora/config/route/v1/route.pb.h"
#include "remora/extensions/filters/network/http_connection_manager/v1/http_connection_manager.pb.h"
#include "source/common/config/message_loader.h"
#include "source/common/event/libevent_dispatcher.h"
#include "test/common/config/fake_control_plane.h"
#include "test/integration/fake_http_upstream.h"
#include "test/integration/proxy_process.h"
#include "test/integration/test_net.h"

namespace remora::test {
namespace {

using service::discovery::v1::DeltaDiscoveryRequest;
using service::discovery::v1::DeltaDiscoveryResponse;
using Clock = std::chrono::steady_clock;

constexpr const char* kClusterType = "type.googleapis.com/remora.config.cluster.v1.Cluster";
constexpr const char* kEndpointType =
    "type.googleapis.com/remora.config.endpoint.v1.ClusterLoadAssignment";
constexpr const char* kRouteType = "type.googleapis.com/remora.config.route.v1.RouteConfiguration";
constexpr const char* kListenerType = "type.googleapis.com/remora.config.listener.v1.Listener";

class Plane {
 public:
  Plane() {
    std::promise<void> ready;
    thread_ = std::thread([this, &ready] {
      plane_ = std::make_unique<config::test::FakeControlPlane>(dispatcher_);
      keepalive_ = dispatcher_.createTimer([this] { keepalive_->enable(std::chrono::seconds(1)); });
      keepalive_->enable(std::chrono::seconds(1));
      ready.set_value();
      dispatcher_.run();
      keepalive_.reset();
      plane_.reset();
    });
    ready.get_future().wait();
  }
  ~Plane() {
    dispatcher_.post([this] { dispatcher_.exit(); });
    thread_.join();
  }
  template <class Fn>
  auto call(Fn fn) {
    std::promise<decltype(fn(*plane_))> result;
    dispatcher_.post([&] { result.set_value(fn(*plane_)); });
    return result.get_future().get();
  }
  uint16_t port() {
    return call([](auto& p) { return p.port(); });
  }
  size_t requestCount() {
    return call([](auto& p) { return p.requests().size(); });
  }
  DeltaDiscoveryRequest request(size_t i) {
    return call([i](auto& p) {
      DeltaDiscoveryRequest r;
      r.ParseFromString(p.requests()[i]);
      return r;
    });
  }
  void send(const DeltaDiscoveryResponse& response) {
    call([&](auto& p) {
      p.send(response);
      return 0;
    });
  }
  // Waits for the next request (of `type`, if given) after `from`; returns its index.
  size_t waitFor(size_t from, const std::string& type = "") {
    for (;;) {
      size_t n = requestCount();
      for (size_t i = from; i < n; ++i) {
        if (type.empty() || request(i).type_url() == type) return i;
      }
      std::this_thread::sleep_for(std::chrono::microseconds(200));
    }
  }

 private:
  event::LibeventDispatcher dispatcher_{"control_plane"};
  std::unique_ptr<config::test::FakeControlPlane> plane_;
  event::TimerPtr keepalive_;
  std::thread thread_;
};

// CPU time of every thread of `pid`, in nanoseconds.
uint64_t cpuNanos(pid_t pid) {
  uint64_t total = 0;
  std::string dir = "/proc/" + std::to_string(pid) + "/task";
  DIR* d = opendir(dir.c_str());
  if (d == nullptr) return 0;
  while (dirent* e = readdir(d)) {
    if (e->d_name[0] == '.') continue;
    std::ifstream in(dir + "/" + e->d_name + "/schedstat");
    uint64_t ns = 0;
    in >> ns;
    total += ns;
  }
  closedir(d);
  return total;
}

template <class Message>
void add(DeltaDiscoveryResponse& response, const std::string& name, const Message& message) {
  auto* resource = response.add_resources();
  resource->set_name(name);
  resource->mutable_resource()->PackFrom(message);
}

config::endpoint::v1::ClusterLoadAssignment assignment(const std::string& name, uint16_t port,
                                                       int endpoints, int variant) {
  config::endpoint::v1::ClusterLoadAssignment cla;
  cla.set_cluster_name(name);
  auto* locality = cla.add_endpoints();
  for (int e = 0; e < endpoints; ++e) {
    auto* sa = locality->add_lb_endpoints()
                   ->mutable_endpoint()
                   ->mutable_address()
                   ->mutable_socket_address();
    // 127.x.y.z loopback addresses: all reach the upstream bound to 0.0.0.0... the first one
    // (127.0.0.1) is the one traffic uses.
    int host = e + variant;
    sa->set_address(e == 0 ? "127.0.0.1"
                           : "127.1." + std::to_string(host / 250) + "." +
                                 std::to_string(1 + host % 250));
    sa->set_port_value(port);
  }
  return cla;
}

struct Steady {
  std::atomic<bool> stop{false};
  std::vector<double> latencies_ms;
  std::atomic<bool> measuring{false};
  std::thread thread;
  uint64_t failures = 0;
};

double percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<size_t>(p * static_cast<double>(v.size())))];
}

int run(int services) {
  Plane plane;
  FakeUpstream upstream(httpServe([](const FakeRequest&) { return httpResponse(200, "ok"); }));
  uint16_t listener_port = unusedPort();
  ProxyProcess proxy;
  std::string error;
  std::string bootstrap =
      "admin: {address: {socket_address: {address: 127.0.0.1, port_value: 0}}}\n"
      "dynamic_resources:\n"
      "  ads_config: {api_type: DELTA_GRPC, address: {socket_address: {address: 127.0.0.1, "
      "port_value: " +
      std::to_string(plane.port()) +
      "}}}\n  cds_config: {ads: {}, initial_fetch_timeout: 600s}\n"
      "  lds_config: {ads: {}, initial_fetch_timeout: 600s}\n";
  if (!proxy.start(bootstrap, {"--concurrency", "2", "-l", "warn"}, error, false)) {
    std::fprintf(stderr, "%s\n", error.c_str());
    return 1;
  }
  size_t next = plane.waitFor(0, kClusterType) + 1;
  uint64_t rss_start = proxy.residentBytes();

  // 1. N services.
  auto t0 = Clock::now();
  uint64_t cpu0 = cpuNanos(proxy.pid());
  DeltaDiscoveryResponse clusters;
  clusters.set_type_url(kClusterType);
  clusters.set_nonce("c1");
  for (int i = 0; i < services; ++i) {
    config::cluster::v1::Cluster c;
    c.set_name("svc-" + std::to_string(i));
    c.set_type(config::cluster::v1::Cluster::EDS);
    c.mutable_connect_timeout()->set_seconds(1);
    add(clusters, c.name(), c);
  }
  plane.send(clusters);
  next = plane.waitFor(next, kEndpointType) + 1;
  DeltaDiscoveryResponse endpoints;
  endpoints.set_type_url(kEndpointType);
  endpoints.set_nonce("e1");
  for (int i = 0; i < services; ++i) {
    std::string name = "svc-" + std::to_string(i);
    add(endpoints, name, assignment(name, upstream.port(), 1, 0));
  }
  plane.send(endpoints);
  next = plane.waitFor(next, kListenerType) + 1;
  config::listener::v1::Listener listener;
  config::Errors errors;
  std::string listener_yaml =
      "name: outbound\naddress: {socket_address: {address: 127.0.0.1, port_value: " +
      std::to_string(listener_port) +
      "}}\nfilter_chains:\n- filters:\n  - name: remora.filters.network.http_connection_manager\n"
      "    typed_config:\n      \"@type\": type.googleapis.com/"
      "remora.extensions.filters.network.http_connection_manager.v1.HttpConnectionManager\n"
      "      stat_prefix: outbound\n      rds: {route_config_name: outbound}\n"
      "      http_filters: [{name: remora.filters.http.router}]\n";
  extensions::filters::network::http_connection_manager::v1::HttpConnectionManager keep_type;
  (void)keep_type;
  if (!config::parseMessage(listener_yaml, listener, errors)) {
    std::fprintf(stderr, "%s\n", errors.joined().c_str());
    return 1;
  }
  DeltaDiscoveryResponse listeners;
  listeners.set_type_url(kListenerType);
  listeners.set_nonce("l1");
  add(listeners, "outbound", listener);
  plane.send(listeners);
  next = plane.waitFor(next, kRouteType) + 1;
  config::route::v1::RouteConfiguration routes;
  routes.set_name("outbound");
  for (int i = 0; i < services; ++i) {
    auto* vh = routes.add_virtual_hosts();
    std::string name = "svc-" + std::to_string(i);
    vh->set_name(name);
    vh->add_domains(name + ".default.svc.cluster.local");
    vh->add_domains(name);
    auto* route = vh->add_routes();
    route->mutable_match()->set_prefix("/");
    route->mutable_route()->set_cluster(name);
  }
  DeltaDiscoveryResponse rds;
  rds.set_type_url(kRouteType);
  rds.set_nonce("r1");
  add(rds, "outbound", routes);
  plane.send(rds);
  while (proxy.admin("GET", "/ready").status != 200) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  auto apply_wall = Clock::now() - t0;
  uint64_t apply_cpu = cpuNanos(proxy.pid()) - cpu0;
  // Let allocator caches settle before reading memory.
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  uint64_t rss_loaded = proxy.residentBytes();

  // Steady traffic to svc-0 over one keep-alive connection.
  Steady steady;
  steady.thread = std::thread([&] {
    int fd = connectLoopback(listener_port);
    std::string request = "GET / HTTP/1.1\r\nhost: svc-0\r\n\r\n";
    while (!steady.stop) {
      auto start = Clock::now();
      if (fd < 0 || !sendAll(fd, request)) {
        ++steady.failures;
        if (fd >= 0) ::close(fd);
        fd = connectLoopback(listener_port);
        continue;
      }
      std::string response = recvExactly(fd, 1, std::chrono::seconds(5));
      // The rest of the small response.
      response += recvExactly(fd, 4096, std::chrono::milliseconds(1));
      while (response.find("\r\n\r\nok") == std::string::npos) {
        std::string more = recvExactly(fd, 1, std::chrono::seconds(5));
        if (more.empty()) break;
        response += more;
      }
      if (response.rfind("HTTP/1.1 200", 0) != 0) ++steady.failures;
      if (steady.measuring) {
        steady.latencies_ms.push_back(
            std::chrono::duration<double, std::milli>(Clock::now() - start).count());
      }
    }
    if (fd >= 0) ::close(fd);
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(200));

  // 2. One endpoint changed, repeatedly, with traffic running.
  steady.measuring = true;
  std::vector<double> change_wall_us;
  std::vector<double> change_cpu_us;
  for (int round = 0; round < 50; ++round) {
    DeltaDiscoveryResponse one;
    one.set_type_url(kEndpointType);
    one.set_nonce("x" + std::to_string(round));
    std::string name = "svc-" + std::to_string(1 + round % (services - 1));
    add(one, name, assignment(name, upstream.port(), 2, round + 1));
    uint64_t cpu = cpuNanos(proxy.pid());
    auto start = Clock::now();
    plane.send(one);
    next = plane.waitFor(next, kEndpointType) + 1;
    change_wall_us.push_back(
        std::chrono::duration<double, std::micro>(Clock::now() - start).count());
    change_cpu_us.push_back(static_cast<double>(cpuNanos(proxy.pid()) - cpu) / 1000.0);
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  steady.measuring = false;
  auto during = steady.latencies_ms;
  steady.latencies_ms.clear();

  // 3. 1,000 clusters get 20 endpoints each.
  steady.measuring = true;
  DeltaDiscoveryResponse many;
  many.set_type_url(kEndpointType);
  many.set_nonce("m1");
  int wide = std::min(1000, services);
  // svc-0 carries the steady traffic: it keeps its one reachable endpoint.
  for (int i = 1; i <= wide && i < services; ++i) {
    std::string name = "svc-" + std::to_string(i);
    add(many, name, assignment(name, upstream.port(), 20, 0));
  }
  auto many_start = Clock::now();
  uint64_t many_cpu0 = cpuNanos(proxy.pid());
  plane.send(many);
  next = plane.waitFor(next, kEndpointType) + 1;
  auto many_wall = Clock::now() - many_start;
  uint64_t many_cpu = cpuNanos(proxy.pid()) - many_cpu0;
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  steady.measuring = false;
  auto during_big = steady.latencies_ms;
  steady.latencies_ms.clear();
  uint64_t rss_wide = proxy.residentBytes();

  // Quiet baseline for the latency figures.
  steady.measuring = true;
  std::this_thread::sleep_for(std::chrono::seconds(1));
  steady.measuring = false;
  auto quiet = steady.latencies_ms;
  steady.stop = true;
  steady.thread.join();

  auto ms = [](auto d) { return std::chrono::duration<double, std::milli>(d).count(); };
  std::printf("services: %d (EDS cluster + endpoints + virtual host each), 2 workers\n", services);
  std::printf("apply all: %.0f ms wall, %.0f ms proxy CPU\n", ms(apply_wall),
              static_cast<double>(apply_cpu) / 1e6);
  std::printf(
      "one endpoint change: median %.0f us wall (push to ACK), p99 %.0f us; proxy CPU "
      "median %.0f us\n",
      percentile(change_wall_us, 0.5), percentile(change_wall_us, 0.99),
      percentile(change_cpu_us, 0.5));
  std::printf("%d clusters x 20 endpoints: %.0f ms wall, %.0f ms proxy CPU\n", wide, ms(many_wall),
              static_cast<double>(many_cpu) / 1e6);
  std::printf("memory: %.1f MB at start, %.1f MB with %d services (%.0f bytes per service)\n",
              static_cast<double>(rss_start) / 1e6, static_cast<double>(rss_loaded) / 1e6, services,
              static_cast<double>(rss_loaded - rss_start) / services);
  std::printf("memory: +%.1f MB for %d more endpoints (%.0f bytes per endpoint)\n",
              static_cast<double>(rss_wide - rss_loaded) / 1e6, wide * 19,
              static_cast<double>(rss_wide - rss_loaded) / (wide * 19.0));
  std::printf(
      "steady traffic p50/p99 ms: quiet %.3f/%.3f (n=%zu); during single-endpoint "
      "pushes %.3f/%.3f (n=%zu); during the 20,000-endpoint push %.3f/%.3f (n=%zu); "
      "failed requests %lu\n",
      percentile(quiet, 0.5), percentile(quiet, 0.99), quiet.size(), percentile(during, 0.5),
      percentile(during, 0.99), during.size(), percentile(during_big, 0.5),
      percentile(during_big, 0.99), during_big.size(), static_cast<unsigned long>(steady.failures));
  return 0;
}

}  // namespace
}  // namespace remora::test

int main(int argc, char** argv) {
  int services = argc > 1 ? std::atoi(argv[1]) : 10000;
  return remora::test::run(std::max(services, 2));
}
