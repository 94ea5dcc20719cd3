// ns per request for choosing the virtual host (and its one "/" route) in a mesh-wide route
// configuration of 10,000 services named only by their full names, with
// host_search_suffixes: a full name (exact), a short name (first suffix), name.namespace
// (second suffix), and a miss that ends at "*". Not a test: run
// `bazel run -c opt //test/common/router:host_selection_benchmark`.

#include <benchmark/benchmark.h>

#include "source/common/router/route_table.h"

namespace remora::router {
namespace {

std::shared_ptr<const RouteTable> meshTable() {
  config::route::v1::RouteConfiguration proto;
  for (const char* suffix :
       {"%NAMESPACE%.svc.cluster.local", "svc.cluster.local", "cluster.local"}) {
    proto.add_host_search_suffixes(suffix);
  }
  for (int i = 0; i < 10000; ++i) {
    auto* vhost = proto.add_virtual_hosts();
    std::string name =
        "service-" + std::to_string(i) + ".ns-" + std::to_string(i % 100) + ".svc.cluster.local";
    vhost->set_name(name);
    vhost->add_domains(name);
    vhost->add_domains(name + ":9080");
    auto* route = vhost->add_routes();
    route->mutable_match()->set_prefix("/");
    route->mutable_route()->set_cluster("c");
  }
  auto* fallback = proto.add_virtual_hosts();
  fallback->set_name("fallback");
  fallback->add_domains("*");
  auto* route = fallback->add_routes();
  route->mutable_match()->set_prefix("/");
  route->mutable_route()->set_cluster("c");
  config::Errors errors;
  return RouteTable::create(
      proto, "route_config", [](std::string_view) { return true; }, errors, "ns-42");
}

void selectHost(benchmark::State& state, const char* authority) {
  static const auto table = meshTable();
  http::HeaderMap request;
  request.add(":method", "GET");
  request.add(":path", "/reviews/1");
  request.add(":authority", authority);
  for (auto _ : state) benchmark::DoNotOptimize(table->match(request));
}

BENCHMARK_CAPTURE(selectHost, full_name, "service-42.ns-42.svc.cluster.local:9080");
BENCHMARK_CAPTURE(selectHost, short_name, "service-42:9080");
BENCHMARK_CAPTURE(selectHost, name_namespace, "service-7.ns-7:9080");
BENCHMARK_CAPTURE(selectHost, miss_to_star, "example.com:443");

}  // namespace
}  // namespace remora::router

BENCHMARK_MAIN();
