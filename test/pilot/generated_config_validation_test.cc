// Every resource pilot generates passes the proxy's own checks. The golden files of
// translator_golden_test hold exactly what the translator produces (that test fails on any
// difference), so this test loads each resource from them the way the proxy's XdsManager takes
// a discovered one: decode, validate, build the listener's filter chains and transport
// sockets (TLS contexts bound to their secrets and files), the cluster's TLS and runtime form,
// and the route table. Routes and tcp_proxy may only name clusters of the same translation.
//
// (A separate binary because pilot links the shared libprotobuf and the proxy the static one.)

#include <google/protobuf/util/json_util.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "gtest/gtest.h"
#include "remora/config/cluster/v1/cluster.pb.h"
#include "remora/config/endpoint/v1/endpoint.pb.h"
#include "remora/config/listener/v1/listener.pb.h"
#include "remora/config/route/v1/route.pb.h"
#include "source/common/config/bootstrap_validation.h"
#include "source/common/router/route_table.h"
#include "source/common/stats/store_impl.h"
#include "source/common/tls/secret_manager.h"
#include "source/common/upstream/cluster_info_impl.h"
#include "source/server/config_snapshot.h"
#include "source/server/route_config_providers.h"

namespace remora::pilot {
namespace {

// One golden file's resources, as JSON Any by type ("clusters", ...) and name.
using Resources = std::map<std::string, std::map<std::string, std::string>>;

Resources readGolden(const std::string& path) {
  std::ifstream in(path);
  Resources out;
  std::string line;
  std::string type;
  std::string name;
  std::string json;
  auto flush = [&] {
    if (!name.empty()) out[type][name] = json;
    name.clear();
    json.clear();
  };
  while (std::getline(in, line)) {
    if (line.rfind("## ", 0) == 0) {
      flush();
      name = line.substr(3);
    } else if (line.rfind("# ", 0) == 0) {
      flush();
      type = line.substr(2);
    } else if (!name.empty()) {
      json += line + "\n";
    }
  }
  flush();
  return out;
}

std::vector<std::string> goldenFiles() {
  std::vector<std::string> files;
  for (const auto& entry : std::filesystem::recursive_directory_iterator("test/pilot/testdata")) {
    std::string name = entry.path().filename().string();
    if (entry.path().extension() == ".txt" &&
        (name.rfind("expected_", 0) == 0 || name == "mesh_example_default.txt")) {
      files.push_back(entry.path().string());
    }
  }
  std::sort(files.begin(), files.end());
  return files;
}

template <class Message>
bool decode(const std::string& json, Message& out, std::string& error) {
  google::protobuf::Any any;
  auto status = google::protobuf::util::JsonStringToMessage(json, &any);
  if (!status.ok()) {
    error = std::string(status.message());
    return false;
  }
  if (!any.UnpackTo(&out)) {
    error = "does not decode as " + out.GetTypeName();
    return false;
  }
  return true;
}

// Loads one file's resources like the proxy and returns every complaint.
std::vector<std::string> validate(const std::string& file) {
  Resources resources = readGolden(file);
  std::vector<std::string> problems;
  stats::StoreImpl store;
  tls::SecretManager secrets;
  // The workload identity's secrets (default, ROOTCA) are what mesh mTLS names.
  secrets.enableLocalSecrets();
  config::Errors errors;
  std::set<std::string, std::less<>> cluster_names;
  for (const auto& [name, json] : resources["clusters"]) cluster_names.insert(name);

  for (const auto& [name, json] : resources["clusters"]) {
    std::string path = "cluster \"" + name + "\"";
    config::cluster::v1::Cluster proto;
    std::string error;
    if (!decode(json, proto, error)) {
      problems.push_back(path + ": " + error);
      continue;
    }
    size_t before = errors.lines().size();
    config::validateCluster(proto, path, errors);
    if (errors.lines().size() != before) continue;
    auto transport =
        server::buildClusterTransport(proto, path + ".transport_socket", &secrets, store, errors);
    if (errors.lines().size() != before) continue;
    if (proto.type() != config::cluster::v1::Cluster::EDS) {
      upstream::ClusterInfoImpl built(proto, store, nullptr, transport);
      (void)built;
    }
  }
  for (const auto& [name, json] : resources["endpoints"]) {
    std::string path = "endpoints \"" + name + "\"";
    config::endpoint::v1::ClusterLoadAssignment proto;
    std::string error;
    if (!decode(json, proto, error)) {
      problems.push_back(path + ": " + error);
      continue;
    }
    config::validateEndpoints(proto, path, errors);
    if (cluster_names.count(proto.cluster_name()) == 0) {
      problems.push_back(path + ": no cluster \"" + proto.cluster_name() + "\"");
    }
  }
  auto known_cluster = [&](std::string_view name) { return cluster_names.count(name) != 0; };
  for (const auto& [name, json] : resources["routes"]) {
    std::string path = "route_config \"" + name + "\"";
    config::route::v1::RouteConfiguration proto;
    std::string error;
    if (!decode(json, proto, error)) {
      problems.push_back(path + ": " + error);
      continue;
    }
    router::RouteTable::create(proto, path, known_cluster, errors);
  }
  server::RouteConfigProviderRegistry routes(1, true);
  for (const auto& [name, json] : resources["listeners"]) {
    std::string path = "listener \"" + name + "\"";
    config::listener::v1::Listener proto;
    std::string error;
    if (!decode(json, proto, error)) {
      problems.push_back(path + ": " + error);
      continue;
    }
    size_t before = errors.lines().size();
    config::validateListener(proto, path, errors);
    if (errors.lines().size() != before) continue;
    server::FactoryContextImpl context(store, &cluster_names, false, &routes);
    context.setSecretManager(&secrets);
    server::buildListenerConfig(proto, path, context, store, errors);
    for (const auto& rds : context.requestedRoutes()) {
      if (resources["routes"].count(rds) == 0) {
        problems.push_back(path + ": no route configuration \"" + rds + "\"");
      }
    }
  }
  for (const auto& line : errors.lines()) problems.push_back(line);
  return problems;
}

TEST(GeneratedConfigValidationTest, EveryGoldenResourceLoadsInTheProxy) {
  auto files = goldenFiles();
  ASSERT_GE(files.size(), 6u);
  for (const auto& file : files) {
    SCOPED_TRACE(file);
    auto resources = readGolden(file);
    EXPECT_FALSE(resources["clusters"].empty());
    EXPECT_FALSE(resources["listeners"].empty());
    std::string all;
    for (const auto& problem : validate(file)) all += problem + "\n";
    EXPECT_EQ(all, "");
  }
}

// The check itself notices a bad resource (a TLS chain without a certificate, a route to a
// cluster that is not there).
TEST(GeneratedConfigValidationTest, ReportsWhatTheProxyWouldRefuse) {
  std::string dir = ::testing::TempDir() + "/bad";
  std::filesystem::create_directories(dir);
  std::string file = dir + "/expected_bad.txt";
  std::ofstream(file) << R"(# errors
# clusters
## c
{"@type": "type.googleapis.com/remora.config.cluster.v1.Cluster", "name": "c", "type": "STATIC"}
# routes
## r
{"@type": "type.googleapis.com/remora.config.route.v1.RouteConfiguration", "name": "r",
 "virtual_hosts": [{"name": "v", "domains": ["*"], "routes": [{"match": {"prefix": "/"},
 "route": {"cluster": "missing"}}]}]}
# listeners
## l
{"@type": "type.googleapis.com/remora.config.listener.v1.Listener", "name": "l",
 "address": {"socket_address": {"address": "127.0.0.1", "port_value": 1}},
 "filter_chains": [{"filters": [{"name": "remora.filters.network.tcp_proxy", "typed_config": {
   "@type": "type.googleapis.com/remora.extensions.filters.network.tcp_proxy.v1.TcpProxy",
   "stat_prefix": "s", "cluster": "c"}}],
  "transport_socket": {"name": "remora.transport_sockets.tls", "typed_config": {
   "@type": "type.googleapis.com/remora.extensions.transport_sockets.tls.v1.DownstreamTlsContext"
  }}}]}
)";
  auto problems = validate(file);
  std::string all;
  for (const auto& problem : problems) all += problem + "\n";
  EXPECT_NE(all.find("missing"), std::string::npos) << all;
  EXPECT_NE(all.find("a server needs a certificate"), std::string::npos) << all;
}

}  // namespace
}  // namespace remora::pilot
