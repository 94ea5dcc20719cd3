// The real remora process fed by a scripted control plane over the aggregated stream:
// warming order (clusters, their endpoints, then listeners, then their routes), readiness only
// after the first full configuration, pushes applied to new requests, NACKs that leave the
// running config alone, and traffic unaffected while the control plane is away.

#include <future>
#include <thread>

#include "gtest/gtest.h"
#include "remora/config/cluster/v1/cluster.pb.h"
#include "remora/config/listener/v1/listener.pb.h"
#include "remora/config/route/v1/route.pb.h"
#include "remora/extensions/filters/network/http_connection_manager/v1/http_connection_manager.pb.h"
#include "remora/extensions/transport_sockets/tls/v1/tls.pb.h"
#include "source/common/config/message_loader.h"
#include "source/common/event/libevent_dispatcher.h"
#include "test/common/config/fake_control_plane.h"
#include "test/integration/fake_http_upstream.h"
#include "test/integration/proxy_process.h"
#include "test/integration/test_certs.h"

namespace remora::test {
namespace {

using service::discovery::v1::DiscoveryRequest;
using service::discovery::v1::DiscoveryResponse;
using std::chrono::seconds;

constexpr const char* kClusterType = "type.googleapis.com/remora.config.cluster.v1.Cluster";
constexpr const char* kEndpointType =
    "type.googleapis.com/remora.config.endpoint.v1.ClusterLoadAssignment";
constexpr const char* kRouteType = "type.googleapis.com/remora.config.route.v1.RouteConfiguration";
constexpr const char* kListenerType = "type.googleapis.com/remora.config.listener.v1.Listener";
constexpr const char* kSecretType =
    "type.googleapis.com/remora.extensions.transport_sockets.tls.v1.Secret";

// The fake control plane on its own thread; every call runs on that thread and waits.
class ControlPlaneThread {
 public:
  ControlPlaneThread() {
    std::promise<void> ready;
    thread_ = std::thread([this, &ready] {
      plane_ = std::make_unique<config::test::FakeControlPlane>(dispatcher_);
      ready.set_value();
      // Kept alive by a timer: the loop exits only when told.
      keepalive_ = dispatcher_.createTimer([this] { keepalive_->enable(seconds(1)); });
      keepalive_->enable(seconds(1));
      dispatcher_.run();
      keepalive_.reset();
      plane_.reset();
    });
    ready.get_future().wait();
  }
  ~ControlPlaneThread() {
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
    return call([](config::test::FakeControlPlane& p) { return p.port(); });
  }
  std::vector<DiscoveryRequest> requests() {
    return call([](config::test::FakeControlPlane& p) { return p.sotwRequests(); });
  }
  // The last request for `type`, once at least `count` requests of that type arrived.
  std::optional<DiscoveryRequest> waitRequest(const std::string& type, size_t count = 1) {
    std::optional<DiscoveryRequest> last;
    bool ok = waitFor([&] {
      size_t n = 0;
      for (auto& r : requests()) {
        if (r.type_url() != type) continue;
        ++n;
        last = r;
      }
      return n >= count;
    });
    return ok ? last : std::nullopt;
  }
  size_t count(const std::string& type) {
    size_t n = 0;
    for (auto& r : requests()) n += r.type_url() == type ? 1 : 0;
    return n;
  }
  void send(const DiscoveryResponse& response) {
    call([&](config::test::FakeControlPlane& p) {
      p.send(response);
      return 0;
    });
  }
  void drop() {
    call([](config::test::FakeControlPlane& p) {
      p.dropConnections();
      p.stopListening();
      return 0;
    });
  }

 private:
  event::LibeventDispatcher dispatcher_{"control_plane"};
  std::unique_ptr<config::test::FakeControlPlane> plane_;
  event::TimerPtr keepalive_;
  std::thread thread_;
};

template <class Message>
DiscoveryResponse response(const std::string& type, const std::string& version,
                           const std::vector<std::string>& yamls) {
  DiscoveryResponse out;
  out.set_type_url(type);
  out.set_version_info(version);
  out.set_nonce("nonce-" + version);
  // Referenced so the linker keeps the type that listeners' typed_config names.
  extensions::filters::network::http_connection_manager::v1::HttpConnectionManager hcm_type;
  (void)hcm_type;
  for (const auto& yaml : yamls) {
    Message message;
    config::Errors errors;
    EXPECT_TRUE(config::parseMessage(yaml, message, errors)) << errors.joined();
    out.add_resources()->PackFrom(message);
  }
  return out;
}

std::string endpointsYaml(uint16_t port) {
  return "cluster_name: web\nendpoints: [{lb_endpoints: [{endpoint: {address: {socket_address: "
         "{address: 127.0.0.1, port_value: " +
         std::to_string(port) + "}}}}]}]\n";
}

std::string listenerYaml(uint16_t port) {
  return "name: web_in\naddress: {socket_address: {address: 127.0.0.1, port_value: " +
         std::to_string(port) +
         "}}\nfilter_chains:\n- filters:\n  - name: "
         "remora.filters.network.http_connection_manager\n"
         "    typed_config:\n      \"@type\": type.googleapis.com/"
         "remora.extensions.filters.network.http_connection_manager.v1.HttpConnectionManager\n"
         "      stat_prefix: web\n      rds: {route_config_name: web_routes}\n"
         "      http_filters: [{name: remora.filters.http.router}]\n";
}

const char* kRoutesYaml =
    "name: web_routes\nvirtual_hosts:\n- name: all\n  domains: [\"*\"]\n  routes:\n"
    "  - {match: {prefix: /}, route: {cluster: web}}\n";

class XdsIntegrationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (int i = 0; i < 2; ++i) {
      std::string name = i == 0 ? "A" : "B";
      upstreams_[i] = std::make_unique<FakeUpstream>(
          httpServe([name](const FakeRequest&) { return httpResponse(200, name); }));
    }
    listener_port_ = unusedPort();
    std::string bootstrap =
        "node: {id: sidecar-1, namespace: default}\n"
        "admin: {address: {socket_address: {address: 127.0.0.1, port_value: 0}}}\n"
        "dynamic_resources:\n"
        "  ads_config: {address: {socket_address: {address: 127.0.0.1, port_value: " +
        std::to_string(plane_.port()) +
        "}}, reconnect_base_interval: 0.05s, reconnect_max_interval: 0.2s}\n"
        "  cds_config: {ads: {}, initial_fetch_timeout: 20s}\n"
        "  lds_config: {ads: {}, initial_fetch_timeout: 20s}\n";
    std::string error;
    ASSERT_TRUE(proxy_.start(bootstrap, {"--concurrency", "2"}, error, false)) << error;
  }

  // Runs the whole warm-up: clusters, endpoints, listeners, routes.
  void pushAll() {
    ASSERT_TRUE(plane_.waitRequest(kClusterType))
        << "streams " << plane_.call([](auto& p) { return p.streams(); }) << " requests "
        << plane_.call([](auto& p) { return p.requests().size(); }) << proxy_.log();
    plane_.send(response<config::cluster::v1::Cluster>(
        kClusterType, "c1", {"name: web\ntype: EDS\nconnect_timeout: 1s\n"}));
    ASSERT_TRUE(plane_.waitRequest(kEndpointType));
    plane_.send(response<config::endpoint::v1::ClusterLoadAssignment>(
        kEndpointType, "e1", {endpointsYaml(upstreams_[0]->port())}));
    ASSERT_TRUE(plane_.waitRequest(kListenerType));
    plane_.send(response<config::listener::v1::Listener>(kListenerType, "l1",
                                                         {listenerYaml(listener_port_)}));
    ASSERT_TRUE(plane_.waitRequest(kRouteType));
    plane_.send(response<config::route::v1::RouteConfiguration>(kRouteType, "r1", {kRoutesYaml}));
    ASSERT_TRUE(waitFor([&] { return proxy_.admin("GET", "/ready").status == 200; }))
        << proxy_.log();
  }

  std::string body() {
    return httpRequest("127.0.0.1:" + std::to_string(listener_port_), "GET", "/").body;
  }

  ControlPlaneThread plane_;
  std::unique_ptr<FakeUpstream> upstreams_[2];
  uint16_t listener_port_ = 0;
  ProxyProcess proxy_;
};

TEST_F(XdsIntegrationTest, WarmsInOrderAndGoesLiveAfterTheFirstFullConfig) {
  auto cds = plane_.waitRequest(kClusterType);
  ASSERT_TRUE(cds);
  EXPECT_EQ(cds->node().id(), "sidecar-1");
  EXPECT_EQ(proxy_.admin("GET", "/ready").status, 503);
  plane_.send(response<config::cluster::v1::Cluster>(
      kClusterType, "c1", {"name: web\ntype: EDS\nconnect_timeout: 1s\n"}));
  auto eds = plane_.waitRequest(kEndpointType);
  ASSERT_TRUE(eds);
  ASSERT_EQ(eds->resource_names_size(), 1);
  EXPECT_EQ(eds->resource_names(0), "web");
  // The cluster is warming: listeners are not asked for until its endpoints arrive.
  EXPECT_EQ(plane_.count(kListenerType), 0u);
  EXPECT_EQ(proxy_.metric("remora_xds_warming_clusters").value_or(-1), 1);
  plane_.send(response<config::endpoint::v1::ClusterLoadAssignment>(
      kEndpointType, "e1", {endpointsYaml(upstreams_[0]->port())}));
  ASSERT_TRUE(plane_.waitRequest(kListenerType));
  plane_.send(response<config::listener::v1::Listener>(kListenerType, "l1",
                                                       {listenerYaml(listener_port_)}));
  auto rds = plane_.waitRequest(kRouteType);
  ASSERT_TRUE(rds);
  EXPECT_EQ(rds->resource_names(0), "web_routes");
  // The listener waits for its routes: not yet accepting, not yet ready.
  EXPECT_EQ(proxy_.metric("remora_xds_warming_listeners").value_or(-1), 1);
  EXPECT_EQ(proxy_.admin("GET", "/ready").status, 503);
  plane_.send(response<config::route::v1::RouteConfiguration>(kRouteType, "r1", {kRoutesYaml}));
  ASSERT_TRUE(waitFor([&] { return proxy_.admin("GET", "/ready").status == 200; }));
  EXPECT_EQ(body(), "A");
  // Every response was ACKed with its version and nonce.
  auto acked = plane_.waitRequest(kRouteType, 2);
  ASSERT_TRUE(acked);
  EXPECT_EQ(acked->version_info(), "r1");
  EXPECT_EQ(acked->response_nonce(), "nonce-r1");
  auto dump = proxy_.admin("GET", "/config_dump").body;
  EXPECT_NE(dump.find("\"ads\":{\"connected\":true"), std::string::npos) << dump;
}

TEST_F(XdsIntegrationTest, PushesApplyAndBadOnesAreNacked) {
  pushAll();
  ASSERT_EQ(body(), "A");
  plane_.send(response<config::endpoint::v1::ClusterLoadAssignment>(
      kEndpointType, "e2", {endpointsYaml(upstreams_[1]->port())}));
  EXPECT_TRUE(waitFor([&] { return body() == "B"; }, seconds(5)));
  // A cluster with a negative timeout is NACKed; the running one stays.
  size_t before = plane_.count(kClusterType);
  plane_.send(response<config::cluster::v1::Cluster>(
      kClusterType, "c2", {"name: web\ntype: EDS\nconnect_timeout: -1s\n"}));
  auto nack = plane_.waitRequest(kClusterType, before + 1);
  ASSERT_TRUE(nack);
  EXPECT_EQ(nack->version_info(), "c1");
  EXPECT_EQ(nack->response_nonce(), "nonce-c2");
  EXPECT_NE(nack->error_detail().message().find("cluster \"web\".connect_timeout"),
            std::string::npos)
      << nack->error_detail().message();
  EXPECT_EQ(body(), "B");
}

// A TLS listener whose certificate is a secret on the same stream (SDS): it warms until the
// secret arrives, a bad secret is NACKed and the good one keeps serving, a new one is served
// to new connections.
TEST_F(XdsIntegrationTest, ListenerCertificateComesOverTheStreamAsASecret) {
  std::string dir = makeTempDir();
  for (const char* name : {"first", "second"}) {
    ASSERT_EQ(makeSelfSignedCertificate(dir, name, "web.local"), "");
  }
  auto secretYaml = [&](const std::string& name) {
    return "name: web_cert\ntls_certificate:\n  certificate_chain: {filename: " + dir + "/" + name +
           ".crt}\n  private_key: {filename: " + dir + "/" + name + ".key}\n";
  };
  std::string tls_listener =
      listenerYaml(listener_port_) +
      "  transport_socket:\n    name: remora.transport_sockets.tls\n    typed_config:\n"
      "      \"@type\": type.googleapis.com/"
      "remora.extensions.transport_sockets.tls.v1.DownstreamTlsContext\n"
      "      common_tls_context:\n"
      "        tls_certificate_sds_secret_configs: [{name: web_cert, sds_config: {ads: {}}}]\n";
  ASSERT_TRUE(plane_.waitRequest(kClusterType));
  plane_.send(response<config::cluster::v1::Cluster>(
      kClusterType, "c1", {"name: web\ntype: EDS\nconnect_timeout: 1s\n"}));
  ASSERT_TRUE(plane_.waitRequest(kEndpointType));
  plane_.send(response<config::endpoint::v1::ClusterLoadAssignment>(
      kEndpointType, "e1", {endpointsYaml(upstreams_[0]->port())}));
  ASSERT_TRUE(plane_.waitRequest(kListenerType));
  plane_.send(response<config::listener::v1::Listener>(kListenerType, "l1", {tls_listener}));
  plane_.send(response<config::route::v1::RouteConfiguration>(kRouteType, "r1", {kRoutesYaml}));
  auto sds = plane_.waitRequest(kSecretType);
  ASSERT_TRUE(sds) << proxy_.log();
  ASSERT_EQ(sds->resource_names_size(), 1);
  EXPECT_EQ(sds->resource_names(0), "web_cert");
  // Routes are there, the certificate is not: the listener warms instead of failing handshakes.
  ASSERT_TRUE(plane_.waitRequest(kRouteType, 2));
  EXPECT_EQ(proxy_.metric("remora_xds_warming_listeners").value_or(-1), 1);
  EXPECT_EQ(proxy_.admin("GET", "/ready").status, 503);

  std::string url = "https://web.local:" + std::to_string(listener_port_) + "/";
  std::string resolve = "web.local:" + std::to_string(listener_port_) + ":127.0.0.1";
  auto curl = [&](const std::string& ca) {
    return runCommand({"/usr/bin/curl", "-sS", "--max-time", "5", "--cacert",
                       dir + "/" + ca + ".crt", "--resolve", resolve, url});
  };
  plane_.send(response<extensions::transport_sockets::tls::v1::Secret>(kSecretType, "s1",
                                                                       {secretYaml("first")}));
  ASSERT_TRUE(waitFor([&] { return proxy_.admin("GET", "/ready").status == 200; })) << proxy_.log();
  auto first = curl("first");
  EXPECT_EQ(first.exit_code, 0) << first.output;
  EXPECT_EQ(first.output, "A");

  // A secret whose key does not go with its certificate is NACKed; the first one still serves.
  size_t before = plane_.count(kSecretType);
  auto bad = response<extensions::transport_sockets::tls::v1::Secret>(
      kSecretType, "s2",
      {"name: web_cert\ntls_certificate:\n  certificate_chain: {filename: " + dir +
       "/first.crt}\n  private_key: {filename: " + dir + "/second.key}\n"});
  plane_.send(bad);
  auto nack = plane_.waitRequest(kSecretType, before + 1);
  ASSERT_TRUE(nack);
  EXPECT_EQ(nack->version_info(), "s1");
  EXPECT_NE(nack->error_detail().message().find("secret \"web_cert\""), std::string::npos)
      << nack->error_detail().message();
  EXPECT_EQ(curl("first").output, "A");

  plane_.send(response<extensions::transport_sockets::tls::v1::Secret>(kSecretType, "s3",
                                                                       {secretYaml("second")}));
  EXPECT_TRUE(waitFor([&] { return curl("second").output == "A"; }, seconds(5))) << proxy_.log();
  EXPECT_NE(curl("first").exit_code, 0);
}

TEST_F(XdsIntegrationTest, TrafficCarriesOnWithoutTheControlPlane) {
  pushAll();
  plane_.drop();
  EXPECT_TRUE(waitFor([&] { return proxy_.metric("remora_xds_connected").value_or(1) == 0; }));
  for (int i = 0; i < 20; ++i) ASSERT_EQ(body(), "A");
}

}  // namespace
}  // namespace remora::test

namespace remora::test {
namespace {

// A control plane that accepts the stream and never answers: the proxy must not wait forever.
TEST(XdsInitialFetchTimeoutTest, AProxyNeverWaitsForever) {
  ControlPlaneThread plane;
  std::string bootstrap =
      "admin: {address: {socket_address: {address: 127.0.0.1, port_value: 0}}}\n"
      "dynamic_resources:\n"
      "  ads_config: {address: {socket_address: {address: 127.0.0.1, port_value: " +
      std::to_string(plane.port()) +
      "}}}\n"
      "  cds_config: {ads: {}, initial_fetch_timeout: 0.5s}\n"
      "  lds_config: {ads: {}, initial_fetch_timeout: 0.5s}\n";
  ProxyProcess proxy;
  std::string error;
  ASSERT_TRUE(proxy.start(bootstrap, {"--concurrency", "1"}, error, false)) << error;
  ASSERT_TRUE(plane.waitRequest(kClusterType));
  EXPECT_EQ(proxy.admin("GET", "/ready").status, 503);
  auto start = std::chrono::steady_clock::now();
  EXPECT_TRUE(waitFor([&] { return proxy.admin("GET", "/ready").status == 200; }, seconds(5)))
      << proxy.log();
  EXPECT_LT(std::chrono::steady_clock::now() - start, seconds(3));
  EXPECT_NE(proxy.log().find("initial fetch timeout"), std::string::npos);
  // What arrives later still applies: listeners were asked for once the wait ended.
  EXPECT_TRUE(plane.waitRequest(kListenerType));
}

}  // namespace
}  // namespace remora::test
