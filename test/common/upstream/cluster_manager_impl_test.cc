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
