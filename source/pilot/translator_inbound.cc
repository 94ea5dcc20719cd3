// The translator's inbound listener (connections to the proxy's pod, captured to 15006) and
// its clusters, with the pod's PeerAuthentication deciding per port what the chains accept:
//
//   STRICT      mTLS chains only. The last chain of the port matches the port alone, so a
//               plaintext connection cannot fall through to the passthrough chains behind it;
//               its TLS handshake fails and it is closed (remora_tls_handshake_failures_total
//               reason not_tls).
//   PERMISSIVE  mTLS chains matching a detected TLS ClientHello, then the plaintext chains.
//   DISABLE     the plaintext chains only (TLS bytes are passed through as opaque).
//
// Before all of them, one chain per port of the proxy's own (15001, 15006, admin, readiness,
// ...) sends connections whose original destination is that port to BlackHoleCluster: capture
// redirects a connection from another pod to POD_IP:15001 here, and it must neither reach
// the outbound listener (calls made with this pod's identity) nor be passed through to its
// original destination (the proxy itself: a loop).
//
// After TLS the chains go on as the plaintext ones: HTTP through the HTTP connection manager,
// anything else through tcp_proxy, both to the application at the pod IP (the original
// destination) from 127.0.0.6, so that an application bound only to loopback stays private. On a
// port whose protocol is detected, the ALPN of the ClientHello tells them apart (h2 or http/1.1:
// HTTP); the proxy's own clusters offer no ALPN for such ports (one cluster carries both HTTP and
// opaque connections), so mTLS from another sidecar reaches the application through tcp_proxy.

#include <set>

#include "remora/config/cluster/v1/cluster.pb.h"
#include "remora/config/listener/v1/listener.pb.h"
#include "remora/extensions/filters/listener/protocol_detection/v1/protocol_detection.pb.h"
#include "remora/extensions/filters/network/http_connection_manager/v1/http_connection_manager.pb.h"
#include "remora/extensions/filters/rbac/v1/rbac.pb.h"
#include "source/pilot/translator.h"
#include "source/pilot/translator_internal.h"

namespace remora::pilot {

using namespace internal;  // NOLINT: shared names of the translator's files

namespace {

using config::cluster::v1::Cluster;
using config::listener::v1::FilterChain;
using config::listener::v1::Listener;

// The default opaque ports of protocol_detection (never inspected); kept in step with
// Translator::serverFirstPort.
constexpr uint32_t kServerFirstPorts[] = {25, 587, 3306, 5432, 6379, 9300, 11211};

// What the connections to one port (or to any port, for the passthrough) are handed to.
struct InboundTarget {
  uint32_t port = 0;       // 0: any port
  std::string cluster;     // inbound|<port>|| or InboundPassthroughCluster
  std::string http;        // name of the HTTP chain
  std::string tcp;         // name of the tcp_proxy chain
  std::string stat;        // stat prefix of the HTTP connection manager
  bool http_only = false;  // declared HTTP: every connection goes to the HTTP chain
  bool tcp_only = false;   // declared opaque or server-first: no HTTP chain
};

// The workload's authorization policies in front of what a chain does: the HTTP filter before
// the router of an HTTP chain (per request), the network filter before tcp_proxy (per
// connection, once TLS has given the peer's identity).
void authorize(FilterChain& chain, const config::rbac::v1::Rbac& rbac, bool http) {
  extensions::filters::rbac::v1::RBAC config;
  *config.mutable_rules() = rbac;
  config.set_stat_prefix("inbound");
  config::core::v1::TypedExtensionConfig filter;
  filter.mutable_typed_config()->PackFrom(config);
  if (http) {
    extensions::filters::network::http_connection_manager::v1::HttpConnectionManager hcm;
    chain.filters(0).typed_config().UnpackTo(&hcm);
    filter.set_name("remora.filters.http.rbac");
    auto rest = hcm.http_filters();
    hcm.clear_http_filters();
    *hcm.add_http_filters() = filter;
    for (const auto& f : rest) *hcm.add_http_filters() = f;
    chain.mutable_filters(0)->mutable_typed_config()->PackFrom(hcm);
    return;
  }
  filter.set_name("remora.filters.network.rbac");
  auto rest = chain.filters();
  chain.clear_filters();
  auto* first = chain.add_filters();
  first->set_name(filter.name());
  *first->mutable_typed_config() = filter.typed_config();
  for (const auto& f : rest) *chain.add_filters() = f;
}

class InboundChains {
 public:
  // `rbac`: the workload's authorization policies (none: no authorization filter).
  InboundChains(Listener& listener, const std::string& access_log,
                const config::rbac::v1::Rbac& rbac)
      : listener_(listener), access_log_(access_log), rbac_(rbac) {}

  // Appends the chains of `target` for `mode`, most specific first.
  void add(const InboundTarget& target, MtlsMode mode) {
    if (mode != MtlsMode::kDisable) addMtls(target, mode == MtlsMode::kStrict);
    if (mode != MtlsMode::kStrict) addPlaintext(target);
  }

 private:
  FilterChain http(const InboundTarget& target, const std::string& name) const {
    FilterChain chain = inboundHttpChain(name, target.cluster, target.stat, access_log_);
    if (rbac_.policies_size() > 0) authorize(chain, rbac_, true);
    return chain;
  }
  FilterChain tcp(const InboundTarget& target, const std::string& name) const {
    // tcp_proxy's stat prefix is the plaintext chain's name, so both count under one.
    FilterChain chain = tcpChain(target.tcp, target.cluster);
    chain.set_name(name);
    if (rbac_.policies_size() > 0) authorize(chain, rbac_, false);
    return chain;
  }
  void append(FilterChain chain, const InboundTarget& target) {
    if (target.port != 0) matchPort(chain, target.port);
    *listener_.add_filter_chains() = std::move(chain);
  }

  void addMtls(const InboundTarget& target, bool strict) {
    if (!target.tcp_only) {
      FilterChain chain = http(target, target.http + "/mtls");
      *chain.mutable_transport_socket() = inboundMtlsSocket(httpAlpn());
      auto* match = chain.mutable_filter_chain_match();
      bool last = target.http_only && strict;
      // STRICT's last chain takes every connection to the port (see the file comment).
      if (!last) match->set_transport_protocol("tls");
      if (!target.http_only) {
        for (const auto& alpn : httpAlpn()) match->add_application_protocols(alpn);
      }
      append(std::move(chain), target);
    }
    if (!target.http_only) {
      FilterChain chain = tcp(target, target.tcp + "/mtls");
      *chain.mutable_transport_socket() = inboundMtlsSocket({});
      if (!strict) chain.mutable_filter_chain_match()->set_transport_protocol("tls");
      append(std::move(chain), target);
    }
  }

  void addPlaintext(const InboundTarget& target) {
    if (!target.tcp_only) {
      FilterChain chain = http(target, target.http);
      if (!target.http_only) matchHttp(chain);
      append(std::move(chain), target);
    }
    if (!target.http_only) append(tcp(target, target.tcp), target);
  }

  Listener& listener_;
  const std::string& access_log_;
  const config::rbac::v1::Rbac& rbac_;
};

// Lets protocol detection look at the server-first ports in `inspected` (where a PERMISSIVE
// port must tell a ClientHello from plaintext), and keeps skipping the others.
void inspectServerFirstPorts(Listener& listener, const std::set<uint32_t>& inspected) {
  if (inspected.empty()) return;
  extensions::filters::listener::protocol_detection::v1::ProtocolDetection detection;
  for (uint32_t port : kServerFirstPorts) {
    if (inspected.count(port) == 0) detection.add_opaque_ports(port);
  }
  // An empty list means the default list, not none.
  if (detection.opaque_ports_size() == 0) detection.set_inspect_all_ports(true);
  for (auto& filter : *listener.mutable_listener_filters()) {
    if (filter.name() == "remora.filters.listener.protocol_detection") {
      filter.mutable_typed_config()->PackFrom(detection);
    }
  }
}

// The source address and destination of the inbound clusters: the original destination (the
// pod IP and port the peer dialled) from `source`, as Istio 1.10+ does.
void connectFrom(Cluster& cluster, const std::string& source) {
  cluster.set_type(Cluster::ORIGINAL_DST);
  cluster.mutable_upstream_bind_config()->mutable_source_address()->set_address(source);
}

}  // namespace

std::map<uint32_t, Translator::Port> Translator::inboundPorts(const std::string& pod_key) const {
  std::map<uint32_t, Port> ports;
  auto found = endpoints_by_pod_.find(pod_key);
  if (found == endpoints_by_pod_.end()) return ports;
  for (const auto& [index, endpoint] : found->second) {
    const Service& service = services_[index];
    for (const auto& port : service.ports) {
      auto named = endpoint->ports.find(port.name);
      uint32_t target = named != endpoint->ports.end() ? named->second : port.number;
      auto [it, added] = ports.emplace(target, port);
      if (!added && port.http) it->second = port;  // a declared HTTP use wins
    }
  }
  return ports;
}

config::rbac::v1::Rbac Translator::workloadRbac(const std::string& ns,
                                                const std::string& pod) const {
  if (pod.empty()) return {};
  auto found = pod_index_->pods.find(ns + "/" + pod);
  return authorization_->forWorkload(ns, found != pod_index_->pods.end()
                                             ? found->second->labels
                                             : std::map<std::string, std::string>{});
}

void Translator::addInbound(const std::string& ns, const std::string& pod, Resources& out) const {
  addInbound(ns, pod, pod.empty() ? std::map<uint32_t, Port>{} : inboundPorts(ns + "/" + pod),
             workloadRbac(ns, pod), out);
}

void Translator::addInbound(const std::string& ns, const std::string& pod,
                            const std::map<uint32_t, Port>& ports,
                            const config::rbac::v1::Rbac& rbac, Resources& out) const {
  Listener listener = capturingListener("inbound", options_.outbound_address, options_.inbound_port,
                                        config::listener::v1::TrafficDirection::INBOUND);
  // Other sidecars use mTLS only towards pods they know are in the mesh (auto mTLS), so a pod
  // pilot does not know as one gets plaintext chains under PERMISSIVE; STRICT is kept, as the
  // policy demands (and such a proxy without a workload identity refuses the listener).
  bool in_mesh = meshPod(ns, pod);
  auto accepted = [&](uint32_t port) {
    MtlsMode mode = peerAuthenticationMode(ns, pod, port);
    return !in_mesh && mode == MtlsMode::kPermissive ? MtlsMode::kDisable : mode;
  };
  // The proxy's own ports first, whatever a service declares.
  std::set<uint32_t> own_ports(options_.proxy_ports.begin(), options_.proxy_ports.end());
  own_ports.insert(options_.outbound_port);
  own_ports.insert(options_.inbound_port);
  for (uint32_t port : own_ports) {
    FilterChain chain = tcpChain("blackhole:" + std::to_string(port), kBlackHole);
    matchPort(chain, port);
    *listener.add_filter_chains() = std::move(chain);
  }
  InboundChains chains(listener, options_.access_log, rbac);
  std::set<uint32_t> inspected;  // server-first ports that need detection (PERMISSIVE)
  for (const auto& [target, port] : ports) {
    std::string cluster_name = inboundClusterName(target);
    Cluster cluster;
    cluster.set_name(cluster_name);
    connectFrom(cluster, options_.inbound_source_address);
    cluster.mutable_connect_timeout()->set_seconds(10);
    cluster.set_http_protocol(Cluster::USE_DOWNSTREAM_PROTOCOL);
    out.clusters[cluster_name] = pack(cluster);

    InboundTarget t;
    t.port = target;
    t.cluster = cluster_name;
    t.http = cluster_name;
    t.tcp = "inbound_" + std::to_string(target);
    t.stat = t.tcp;
    t.http_only = port.http;
    t.tcp_only = port.opaque || (!port.http && serverFirstPort(target));
    MtlsMode mode = accepted(target);
    if (mode == MtlsMode::kPermissive && serverFirstPort(target)) inspected.insert(target);
    chains.add(t, mode);
  }

  InboundTarget passthrough;
  passthrough.cluster = kInboundPassthrough;
  passthrough.http = "inbound|http";
  passthrough.tcp = "inbound_passthrough";
  passthrough.stat = "inbound_passthrough";
  MtlsMode passthrough_mode = accepted(0);
  // Port-level modes for ports no service declares: their own passthrough chains first.
  if (const PeerAuthentication* policy = in_mesh ? workloadPolicy(ns, pod) : nullptr) {
    for (const auto& [port, unused] : policy->port_modes) {
      MtlsMode mode = accepted(port);
      if (ports.count(port) != 0 || mode == passthrough_mode) continue;
      InboundTarget t = passthrough;
      t.port = port;
      t.http += ":" + std::to_string(port);
      t.tcp += ":" + std::to_string(port);
      if (mode == MtlsMode::kPermissive && serverFirstPort(port)) inspected.insert(port);
      chains.add(t, mode);
    }
  }
  chains.add(passthrough, passthrough_mode);
  inspectServerFirstPorts(listener, inspected);
  out.listeners["inbound"] = pack(listener);

  Cluster cluster;
  cluster.set_name(kInboundPassthrough);
  connectFrom(cluster, options_.inbound_source_address);
  cluster.set_http_protocol(Cluster::USE_DOWNSTREAM_PROTOCOL);
  cluster.mutable_connect_timeout()->set_seconds(10);
  out.clusters[kInboundPassthrough] = pack(cluster);
}

}  // namespace remora::pilot
