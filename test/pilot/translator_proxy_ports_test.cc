// The proxy's own ports in the translation (issue 14): the inbound listener sends connections
// whose original destination is one of the proxy's ports to BlackHoleCluster before anything
// else; the outbound listener serves local clients only and never passes a connection to
// 15001 itself through; inbound clusters connect to the original destination (the pod IP)
// from 127.0.0.6, never to loopback.

#include "gtest/gtest.h"
#include "remora/config/cluster/v1/cluster.pb.h"
#include "remora/config/listener/v1/listener.pb.h"
#include "remora/extensions/filters/network/tcp_proxy/v1/tcp_proxy.pb.h"
#include "source/pilot/translator.h"

namespace remora::pilot {
namespace {

using config::cluster::v1::Cluster;
using config::listener::v1::FilterChain;
using config::listener::v1::Listener;

constexpr const char* kManifests = R"(
apiVersion: v1
kind: Pod
metadata: {name: reviews-1, namespace: default, labels: {app: reviews}}
status: {podIP: 10.0.0.5}
---
apiVersion: v1
kind: Service
metadata: {name: reviews, namespace: default}
spec:
  clusterIP: 10.96.0.9
  ports: [{name: http, port: 9080}]
---
apiVersion: v1
kind: Endpoints
metadata: {name: reviews, namespace: default}
subsets:
- addresses: [{ip: 10.0.0.5, targetRef: {kind: Pod, name: reviews-1}}]
  ports: [{name: http, port: 9080}]
)";

Resources translate() {
  std::vector<Object> objects;
  std::vector<ManifestError> errors;
  parseManifestText("test.yaml", kManifests, objects, errors);
  EXPECT_TRUE(errors.empty());
  Translator translator(std::move(objects), TranslateOptions{});
  EXPECT_TRUE(translator.errors().empty());
  return translator.translate("default", "reviews-1");
}

template <class Message>
Message unpack(const std::map<std::string, google::protobuf::Any>& map, const std::string& name) {
  Message message;
  EXPECT_TRUE(map.count(name)) << name;
  if (map.count(name)) {
    EXPECT_TRUE(map.at(name).UnpackTo(&message));
  }
  return message;
}

// The cluster a tcp_proxy chain goes to ("" for other chains).
std::string tcpCluster(const FilterChain& chain) {
  extensions::filters::network::tcp_proxy::v1::TcpProxy tcp;
  if (chain.filters_size() != 1 || !chain.filters(0).typed_config().UnpackTo(&tcp)) return "";
  return tcp.cluster();
}

TEST(TranslatorProxyPortsTest, InboundBlackholesTheProxysOwnPortsFirst) {
  Resources resources = translate();
  auto inbound = unpack<Listener>(resources.listeners, "inbound");
  std::vector<uint32_t> expected = {15000, 15001, 15006, 15020, 15021, 15053};
  ASSERT_GT(inbound.filter_chains_size(), static_cast<int>(expected.size()));
  for (size_t i = 0; i < expected.size(); ++i) {
    const auto& chain = inbound.filter_chains(static_cast<int>(i));
    EXPECT_EQ(chain.name(), "blackhole:" + std::to_string(expected[i]));
    EXPECT_EQ(chain.filter_chain_match().destination_port().value(), expected[i]);
    // By port alone: TLS or not, whatever protocol, before the passthrough chains.
    EXPECT_TRUE(chain.filter_chain_match().transport_protocol().empty());
    EXPECT_EQ(chain.filter_chain_match().application_protocols_size(), 0);
    EXPECT_EQ(tcpCluster(chain), "BlackHoleCluster");
  }
  EXPECT_TRUE(resources.clusters.count("BlackHoleCluster"));
}

TEST(TranslatorProxyPortsTest, OutboundServesThePodOnlyAndNeverPassesItsOwnPortThrough) {
  Resources resources = translate();
  auto outbound = unpack<Listener>(resources.listeners, "outbound");
  EXPECT_TRUE(outbound.local_clients_only());
  ASSERT_GE(outbound.filter_chains_size(), 2);
  // Explicit-proxy HTTP to 15001 itself is routed by Host ...
  const auto& explicit_proxy = outbound.filter_chains(0);
  EXPECT_EQ(explicit_proxy.name(), "explicit_proxy");
  EXPECT_EQ(explicit_proxy.filter_chain_match().destination_port().value(), 15001u);
  EXPECT_GT(explicit_proxy.filter_chain_match().application_protocols_size(), 0);
  EXPECT_EQ(explicit_proxy.filters(0).name(), "remora.filters.network.http_connection_manager");
  // ... anything else to 15001 is refused, never passed through to itself.
  const auto& own = outbound.filter_chains(1);
  EXPECT_EQ(own.filter_chain_match().destination_port().value(), 15001u);
  EXPECT_EQ(own.filter_chain_match().application_protocols_size(), 0);
  EXPECT_EQ(tcpCluster(own), "BlackHoleCluster");
}

TEST(TranslatorProxyPortsTest, InboundClustersConnectToThePodIpFrom127006) {
  Resources resources = translate();
  for (const char* name : {"inbound|9080||", "InboundPassthroughCluster"}) {
    auto cluster = unpack<Cluster>(resources.clusters, name);
    EXPECT_EQ(cluster.type(), Cluster::ORIGINAL_DST) << name;
    EXPECT_FALSE(cluster.original_dst_to_loopback()) << name;
    EXPECT_EQ(cluster.load_assignment().endpoints_size(), 0) << name;
    EXPECT_EQ(cluster.upstream_bind_config().source_address().address(), "127.0.0.6") << name;
  }
}

}  // namespace
}  // namespace remora::pilot
