// ClusterInfoImpl from config, and a worker's ClusterManagerImpl: updates, lookups, and
// connections to a real loopback listener.

#include "source/common/upstream/cluster_manager_impl.h"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <map>
#include <string>

#include "source/common/event/libevent_dispatcher.h"
#include "source/common/stats/store_impl.h"
#include "test/common/network/test_utils.h"

namespace remora::upstream {
namespace {

using config::cluster::v1::Cluster;

Cluster makeCluster(const std::string& name,
                    const std::vector<std::pair<network::Address, uint32_t>>& hosts) {
  Cluster cluster;
  cluster.set_name(name);
  auto* locality = cluster.mutable_load_assignment()->add_endpoints();
  for (const auto& [address, weight] : hosts) {
    auto* lb = locality->add_lb_endpoints();
    auto* sa = lb->mutable_endpoint()->mutable_address()->mutable_socket_address();
    sa->set_address(address.ip());
    sa->set_port_value(address.port());
    if (weight != 0) lb->mutable_load_balancing_weight()->set_value(weight);
  }
  return cluster;
}

network::Address loopback(uint16_t port) {
  return *network::Address::fromIpPort("127.0.0.1", port);
}

class ClusterManagerImplTest : public testing::Test {
 protected:
  std::shared_ptr<const ClusterInfoImpl> info(const Cluster& config) {
    return std::make_shared<ClusterInfoImpl>(config, store_);
  }
  uint64_t counter(const std::string& name, const std::string& cluster) {
    return store_.counter(name, help_.at(name), {{"cluster", cluster}}).value();
  }
  int64_t active(const std::string& cluster) {
    return store_
        .gauge("remora_cluster_upstream_connections_active", "Upstream connections open now.",
               {{"cluster", cluster}})
        .value();
  }

  stats::StoreImpl store_;
  event::LibeventDispatcher dispatcher_{"worker_0"};
  const std::map<std::string, std::string> help_ = {
      {"remora_cluster_upstream_connections_total", "Upstream connections opened."},
      {"remora_cluster_upstream_connect_failures_total",
       "Upstream connection attempts that failed, timeouts included."},
      {"remora_cluster_upstream_sent_bytes_total", "Bytes sent to upstream hosts."}};
};

TEST_F(ClusterManagerImplTest, ClusterInfoFromConfig) {
  Cluster config = makeCluster("backend", {{loopback(81), 3}, {loopback(82), 0}});
  config.mutable_connect_timeout()->set_nanos(250 * 1000 * 1000);
  config.mutable_per_connection_buffer_limit_bytes()->set_value(32768);
  auto* bad = config.mutable_load_assignment()->add_endpoints()->add_lb_endpoints();
  bad->mutable_endpoint()->mutable_address()->mutable_socket_address()->set_address("not-an-ip");
  auto cluster = info(config);
  EXPECT_EQ(cluster->name(), "backend");
  EXPECT_EQ(cluster->connectTimeout(), std::chrono::milliseconds(250));
  EXPECT_EQ(cluster->perConnectionBufferLimit(), 32768u);
  ASSERT_EQ(cluster->hosts().size(), 2u);
  EXPECT_EQ(cluster->hosts()[0]->address, loopback(81));
  EXPECT_EQ(cluster->hosts()[0]->weight, 3u);
  EXPECT_EQ(cluster->hosts()[1]->weight, 1u);  // unset weight defaults to 1

  auto defaults = info(makeCluster("plain", {}));
  EXPECT_EQ(defaults->connectTimeout(), std::chrono::milliseconds(5000));
  EXPECT_EQ(defaults->perConnectionBufferLimit(), 1024u * 1024u);
  EXPECT_TRUE(defaults->hosts().empty());
  EXPECT_NE(cluster->connectionStats().total, defaults->connectionStats().total);
}

TEST_F(ClusterManagerImplTest, GetClusterAndUpdateKeepsUnchangedClusters) {
  ClusterManagerImpl manager(dispatcher_);
  EXPECT_EQ(manager.getCluster("a"), nullptr);
  auto a = info(makeCluster("a", {{loopback(1), 1}, {loopback(2), 2}}));
  auto b = info(makeCluster("b", {}));
  manager.update({a, b});
  ThreadLocalCluster* tl_a = manager.getCluster("a");
  ASSERT_NE(tl_a, nullptr);
  EXPECT_EQ(&tl_a->info(), a.get());
  EXPECT_EQ(manager.getCluster("b")->chooseHost(), nullptr);
  EXPECT_EQ(manager.getCluster("c"), nullptr);
  EXPECT_EQ(manager.getCluster(""), nullptr);

  // An update with the same info object keeps the cluster, balancer state and all: the next
  // pick continues the sequence (B, A, B for weights 1, 2) instead of restarting it.
  MersenneRandom random;
  auto reference = createLoadBalancer(a->lbConfig(), a->hosts(), random, dispatcher_.timeSource());
  EXPECT_EQ(tl_a->chooseHost(), reference->chooseHost(nullptr));
  auto b2 = info(makeCluster("b", {{loopback(3), 1}}));
  manager.update({b2, a});
  EXPECT_EQ(manager.getCluster("a"), tl_a);
  EXPECT_EQ(tl_a->chooseHost(), reference->chooseHost(nullptr));
  // A new info object for the same name replaces the cluster.
  EXPECT_EQ(&manager.getCluster("b")->info(), b2.get());
  EXPECT_EQ(manager.getCluster("b")->chooseHost()->address, loopback(3));

  manager.update({b2});
  EXPECT_EQ(manager.getCluster("a"), nullptr);
  manager.update({});
  EXPECT_EQ(manager.getCluster("b"), nullptr);
}

// A sidecar learns every cluster of the mesh and calls a few: per-worker state and metric
// series exist only for clusters that were used.
TEST_F(ClusterManagerImplTest, WorkerStateAndMetricsAreMadeOnFirstUse) {
  ClusterManagerImpl manager(dispatcher_);
  auto a = info(makeCluster("a", {{loopback(1), 1}}));
  auto b = info(makeCluster("b", {{loopback(2), 1}}));
  manager.update({a, b});
  EXPECT_EQ(manager.usedClusterCount(), 0u);
  std::string text = store_.prometheusText();
  EXPECT_EQ(text.find("cluster=\"a\""), std::string::npos) << text;

  ThreadLocalCluster* tl_a = manager.getCluster("a");
  ASSERT_NE(tl_a, nullptr);
  EXPECT_EQ(manager.usedClusterCount(), 1u);
  EXPECT_EQ(manager.getCluster("a"), tl_a);
  EXPECT_EQ(manager.usedClusterCount(), 1u);
  a->onUpstreamRequestStart();
  a->onUpstreamRequestEnd(200, std::chrono::milliseconds(1));
  text = store_.prometheusText();
  EXPECT_NE(text.find("remora_cluster_upstream_requests_total{cluster=\"a\",code=\"200\"} 1"),
            std::string::npos)
      << text;
  EXPECT_EQ(text.find("cluster=\"b\""), std::string::npos) << text;
  // A breaker that never filled up has no series; one that refuses shows open and counts.
  EXPECT_EQ(text.find("remora_cluster_circuit_breaker_open{"), std::string::npos) << text;

  // A new host set for an unused cluster does not make worker state either.
  config::endpoint::v1::ClusterLoadAssignment endpoints;
  auto* sa = endpoints.add_endpoints()
                 ->add_lb_endpoints()
                 ->mutable_endpoint()
                 ->mutable_address()
                 ->mutable_socket_address();
  sa->set_address("127.0.0.1");
  sa->set_port_value(3);
  manager.applyDelta({ClusterInfoImpl::withHosts(*b, endpoints)}, {});
  EXPECT_EQ(manager.usedClusterCount(), 1u);
  EXPECT_EQ(manager.getCluster("b")->chooseHost()->address, loopback(3));
  EXPECT_EQ(manager.usedClusterCount(), 2u);
  manager.applyDelta({}, {"a"});
  EXPECT_EQ(manager.usedClusterCount(), 1u);
}

// buildConfigSnapshot does not reject two clusters with one name, so update() sees them.
TEST_F(ClusterManagerImplTest, DuplicateNamesInAnUpdateDoNotCrash) {
  auto a = info(makeCluster("a", {{loopback(1), 1}}));
  EXPECT_EXIT(
      {
        ClusterManagerImpl manager(dispatcher_);
        manager.update({a});
        manager.update({a, a});
        std::exit(manager.getCluster("a") != nullptr ? 0 : 2);
      },
      testing::ExitedWithCode(0), "")
      << "BUG: ClusterManagerImpl::update moves the kept entry out of clusters_ and then "
         "dereferences the emptied unique_ptr for the duplicate name";
}

TEST_F(ClusterManagerImplTest, CreateConnectionConnectsWithClusterSettingsAndStats) {
  network::test::LoopbackServer server(dispatcher_);
  Cluster config = makeCluster("backend", {{server.address(), 1}});
  config.mutable_per_connection_buffer_limit_bytes()->set_value(1024);
  auto cluster_info = info(config);
  ClusterManagerImpl manager(dispatcher_);
  manager.update({cluster_info});
  ThreadLocalCluster* cluster = manager.getCluster("backend");
  ASSERT_NE(cluster, nullptr);
  auto host = cluster->chooseHost();
  ASSERT_NE(host, nullptr);

  network::ClientConnectionPtr connection = cluster->createConnection(host);
  EXPECT_EQ(connection->remoteAddress(), server.address());
  network::test::RecordingCallbacks callbacks;
  connection->addConnectionCallbacks(callbacks);
  // The cluster's buffer limit applies: 4 KiB queued before connecting is above it.
  buffer::OwnedBuffer data(std::string(4096, 'x'));
  connection->write(data, false);
  EXPECT_TRUE(connection->aboveHighWatermark());
  EXPECT_EQ(callbacks.above_high, 1);

  connection->connect();
  ASSERT_TRUE(network::test::runUntil(dispatcher_, [&] {
    return server.accepted().size() == 1 && server.only().filter->received.size() == 4096;
  }));
  EXPECT_EQ(callbacks.events, std::vector{network::ConnectionEvent::kConnected});
  EXPECT_EQ(callbacks.below_low, 1);
  EXPECT_EQ(counter("remora_cluster_upstream_connections_total", "backend"), 1u);
  EXPECT_EQ(active("backend"), 1);
  EXPECT_EQ(counter("remora_cluster_upstream_sent_bytes_total", "backend"), 4096u);

  auto second = cluster->createConnection(cluster->chooseHost());
  EXPECT_EQ(counter("remora_cluster_upstream_connections_total", "backend"), 2u);
  EXPECT_EQ(active("backend"), 2);
  second.reset();
  connection->close(network::ConnectionCloseType::kNoFlush);
  EXPECT_EQ(active("backend"), 0);
  EXPECT_EQ(counter("remora_cluster_upstream_connections_total", "backend"), 2u);
}

TEST_F(ClusterManagerImplTest, RefusedConnectionCountsAFailure) {
  // Bound but not listening: connects are refused.
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  auto any = loopback(0);
  ASSERT_EQ(::bind(fd, any.sockAddr(), any.sockaddrLen()), 0);
  auto cluster_info = info(makeCluster("down", {{network::boundAddress(fd), 1}}));
  ClusterManagerImpl manager(dispatcher_);
  manager.update({cluster_info});
  auto connection =
      manager.getCluster("down")->createConnection(manager.getCluster("down")->chooseHost());
  network::test::RecordingCallbacks callbacks;
  connection->addConnectionCallbacks(callbacks);
  connection->connect();
  ASSERT_TRUE(network::test::runUntil(dispatcher_, [&] { return callbacks.closed(); }));
  ::close(fd);
  EXPECT_EQ(counter("remora_cluster_upstream_connect_failures_total", "down"), 1u);
  EXPECT_EQ(active("down"), 0);
}

}  // namespace
}  // namespace remora::upstream

namespace remora::upstream {
namespace {

class ClusterManagerDeltaTest : public testing::Test {
 protected:
  stats::StoreImpl store_;
  event::LibeventDispatcher dispatcher_{"worker_0"};
  ClusterManagerImpl manager_{dispatcher_};
};

config::endpoint::v1::ClusterLoadAssignment endpointsOn(std::vector<uint16_t> ports) {
  config::endpoint::v1::ClusterLoadAssignment cla;
  cla.set_cluster_name("eds");
  auto* locality = cla.add_endpoints();
  for (uint16_t port : ports) {
    auto* sa = locality->add_lb_endpoints()
                   ->mutable_endpoint()
                   ->mutable_address()
                   ->mutable_socket_address();
    sa->set_address("127.0.0.1");
    sa->set_port_value(port);
  }
  return cla;
}

TEST_F(ClusterManagerDeltaTest, HostUpdatesKeepTheHostsThatStay) {
  Cluster config;
  config.set_name("eds");
  config.set_type(Cluster::EDS);
  auto first = std::make_shared<ClusterInfoImpl>(config, store_);
  auto with_two = ClusterInfoImpl::withHosts(*first, endpointsOn({1001, 1002}));
  manager_.applyDelta({with_two}, {});
  ASSERT_NE(manager_.getCluster("eds"), nullptr);
  EXPECT_EQ(&manager_.getCluster("eds")->info(), with_two.get());
  // Same config, one host replaced: 1001 is the same object, 1003 is new.
  auto changed = ClusterInfoImpl::withHosts(*with_two, endpointsOn({1001, 1003}));
  EXPECT_EQ(changed->configId(), with_two->configId());
  EXPECT_EQ(changed->hosts()[0].get(), with_two->hosts()[0].get());
  EXPECT_NE(changed->hosts()[1]->address, with_two->hosts()[1]->address);
  auto* before = manager_.getCluster("eds");
  manager_.applyDelta({changed}, {});
  // Updated in place (pools kept), not replaced.
  EXPECT_EQ(manager_.getCluster("eds"), before);
  EXPECT_EQ(&manager_.getCluster("eds")->info(), changed.get());
  EXPECT_EQ(manager_.drainingCount(), 0u);
  // A changed config replaces the cluster; the old one drains.
  Cluster other = config;
  other.mutable_connect_timeout()->set_seconds(3);
  manager_.applyDelta({std::make_shared<ClusterInfoImpl>(other, store_)}, {});
  EXPECT_NE(&manager_.getCluster("eds")->info(), changed.get());
  manager_.applyDelta({}, {"eds"});
  EXPECT_EQ(manager_.getCluster("eds"), nullptr);
}

TEST_F(ClusterManagerDeltaTest, UnhealthyEndpointsAreMarked) {
  Cluster config;
  config.set_name("eds");
  config.set_type(Cluster::EDS);
  auto cla = endpointsOn({1001, 1002});
  cla.mutable_endpoints(0)->mutable_lb_endpoints(1)->set_health_status(
      config::endpoint::v1::UNHEALTHY);
  ClusterInfoImpl info(config, store_, &cla);
  EXPECT_TRUE(info.hosts()[0]->healthy());
  EXPECT_FALSE(info.hosts()[1]->healthy());
}

TEST_F(ClusterManagerDeltaTest, OriginalDestinationClustersConnectWhereTheClientWasGoing) {
  Cluster config;
  config.set_name("passthrough");
  config.set_type(Cluster::ORIGINAL_DST);
  manager_.applyDelta({std::make_shared<ClusterInfoImpl>(config, store_)}, {});
  auto* cluster = manager_.getCluster("passthrough");
  ASSERT_NE(cluster, nullptr);
  EXPECT_EQ(cluster->chooseHost(nullptr), nullptr);
  struct Context : LoadBalancerContext {
    network::Address destination;
    const network::Address* originalDestination() const override { return &destination; }
  } context;
  context.destination = *network::Address::fromIpPort("198.18.0.7", 8080);
  auto host = cluster->chooseHost(&context);
  ASSERT_NE(host, nullptr);
  EXPECT_EQ(host->address.asString(), "198.18.0.7:8080");
  EXPECT_EQ(cluster->chooseHost(&context), host);  // one host per destination
  context.destination = *network::Address::fromIpPort("198.18.0.8", 80);
  EXPECT_EQ(cluster->chooseHost(&context)->address.asString(), "198.18.0.8:80");
}

// Loop protection: an original destination that is one of the proxy's own listeners (by exact
// address, or by port on any local address for a wildcard listener) gets no host, and is
// counted; other destinations are unaffected.
TEST_F(ClusterManagerDeltaTest, OriginalDestinationToAnOwnListenerIsRefused) {
  auto now = std::chrono::steady_clock::now();
  SelfConnectionGuard guard(network::LocalAddresses(
      [] { return std::vector<network::Address>{*network::Address::fromIpPort("198.18.0.5", 0)}; },
      [&] { return now; }));
  guard.setListenerAddresses({*network::Address::fromIpPort("0.0.0.0", 15001),
                              *network::Address::fromIpPort("127.0.0.1", 15000),
                              *network::Address::fromIpPort("198.18.0.5", 9000)});
  manager_.setSelfConnectionGuard(&guard);
  Cluster config;
  config.set_name("passthrough");
  config.set_type(Cluster::ORIGINAL_DST);
  manager_.applyDelta({std::make_shared<ClusterInfoImpl>(config, store_)}, {});
  auto* cluster = manager_.getCluster("passthrough");
  ASSERT_NE(cluster, nullptr);
  struct Context : LoadBalancerContext {
    network::Address destination;
    const network::Address* originalDestination() const override { return &destination; }
  } context;
  auto hostFor = [&](const char* ip, uint16_t port) {
    context.destination = *network::Address::fromIpPort(ip, port);
    return cluster->chooseHost(&context);
  };
  // The wildcard listener's port on every local address.
  EXPECT_EQ(hostFor("198.18.0.5", 15001), nullptr);
  EXPECT_EQ(hostFor("127.0.0.1", 15001), nullptr);
  EXPECT_EQ(hostFor("127.0.0.6", 15001), nullptr);
  EXPECT_EQ(hostFor("0.0.0.0", 15001), nullptr);
  // Exact listeners.
  EXPECT_EQ(hostFor("127.0.0.1", 15000), nullptr);
  EXPECT_EQ(hostFor("198.18.0.5", 9000), nullptr);
  EXPECT_EQ(hostFor("0.0.0.0", 9000), nullptr);
  // Not the proxy: another pod at the same port, another local address or port.
  EXPECT_NE(hostFor("198.18.0.7", 15001), nullptr);
  EXPECT_NE(hostFor("127.0.0.2", 15000), nullptr);
  EXPECT_NE(hostFor("198.18.0.5", 9080), nullptr);
  EXPECT_NE(
      store_.prometheusText().find(
          "remora_cluster_upstream_self_connections_refused_total{cluster=\"passthrough\"} 7"),
      std::string::npos)
      << store_.prometheusText();
}

}  // namespace
}  // namespace remora::upstream
