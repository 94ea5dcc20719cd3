// The translator's outbound listener (the application's calls, captured to 15001) and the
// filter chain pieces both capturing listeners use (the inbound one is in
// translator_inbound.cc).
//
// Chains are tried in order and the first match wins, so each listener lists the most
// specific destinations first. A chain that names no protocol is chosen by destination alone,
// and then protocol detection does not run for it (no added latency for declared ports).

#include <set>

#include "remora/config/cluster/v1/cluster.pb.h"
#include "remora/config/listener/v1/listener.pb.h"
#include "remora/config/route/v1/route.pb.h"
#include "remora/extensions/filters/listener/original_dst/v1/original_dst.pb.h"
#include "remora/extensions/filters/listener/protocol_detection/v1/protocol_detection.pb.h"
#include "remora/extensions/filters/network/http_connection_manager/v1/http_connection_manager.pb.h"
#include "remora/extensions/filters/network/tcp_proxy/v1/tcp_proxy.pb.h"
#include "source/pilot/translator.h"
#include "source/pilot/translator_internal.h"
#include "source/pilot/yaml_view.h"

namespace remora::pilot {

using namespace internal;  // NOLINT: shared names of the translator's files

namespace {

using config::cluster::v1::Cluster;
using config::listener::v1::FilterChain;
using config::listener::v1::Listener;
using extensions::filters::network::http_connection_manager::v1::HttpConnectionManager;

const std::vector<std::string> kHttpProtocols = {"http/1.0", "http/1.1", "h2c"};

void addAccessLog(HttpConnectionManager& hcm, const std::string& path) {
  if (!path.empty()) hcm.mutable_access_log()->set_path(path);
}

FilterChain hcmChain(const std::string& name, HttpConnectionManager hcm) {
  FilterChain chain;
  chain.set_name(name);
  hcm.add_http_filters()->set_name("remora.filters.http.router");
  auto* filter = chain.add_filters();
  filter->set_name("remora.filters.network.http_connection_manager");
  filter->mutable_typed_config()->PackFrom(hcm);
  return chain;
}

// HTTP routed by the discovered route configuration `rds`.
FilterChain rdsChain(const std::string& name, const std::string& rds, const std::string& stat,
                     const std::string& access_log) {
  HttpConnectionManager hcm;
  hcm.set_stat_prefix(stat);
  hcm.mutable_rds()->set_route_config_name(rds);
  addAccessLog(hcm, access_log);
  return hcmChain(name, hcm);
}

void matchAddresses(FilterChain& chain, const std::vector<std::string>& ips) {
  for (const auto& ip : ips) {
    auto* range = chain.mutable_filter_chain_match()->add_prefix_ranges();
    size_t slash = ip.find('/');
    range->set_address_prefix(ip.substr(0, slash));
    if (slash != std::string::npos) {
      range->mutable_prefix_len()->set_value(
          static_cast<uint32_t>(std::stoul(ip.substr(slash + 1))));
    }
  }
}

}  // namespace

Listener internal::capturingListener(const std::string& name, const std::string& address,
                                     uint32_t port,
                                     config::listener::v1::TrafficDirection direction) {
  Listener listener;
  listener.set_name(name);
  listener.set_traffic_direction(direction);
  auto* sa = listener.mutable_address()->mutable_socket_address();
  sa->set_address(address);
  sa->set_port_value(port);
  auto* original_dst = listener.add_listener_filters();
  original_dst->set_name("remora.filters.listener.original_dst");
  original_dst->mutable_typed_config()->PackFrom(
      extensions::filters::listener::original_dst::v1::OriginalDst());
  auto* detection = listener.add_listener_filters();
  detection->set_name("remora.filters.listener.protocol_detection");
  detection->mutable_typed_config()->PackFrom(
      extensions::filters::listener::protocol_detection::v1::ProtocolDetection());
  return listener;
}

FilterChain internal::inboundHttpChain(const std::string& name, const std::string& cluster,
                                       const std::string& stat, const std::string& access_log) {
  HttpConnectionManager hcm;
  hcm.set_stat_prefix(stat);
  auto* config = hcm.mutable_route_config();
  config->set_name(name);
  auto* vh = config->add_virtual_hosts();
  vh->set_name(name);
  vh->add_domains("*");
  auto* route = vh->add_routes();
  route->set_name("default");
  route->mutable_match()->set_prefix("/");
  route->mutable_route()->set_cluster(cluster);
  route->mutable_route()->mutable_timeout()->set_seconds(0);
  // As Istio inbound: the application learns the peer the handshake verified (By, Hash, URI),
  // never an x-forwarded-client-cert a client made up. Outbound chains keep the default,
  // SANITIZE: a client's header is removed and none is set.
  hcm.set_forward_client_cert_details(HttpConnectionManager::SANITIZE_SET);
  hcm.mutable_set_current_client_cert_details()->set_uri(true);
  addAccessLog(hcm, access_log);
  return hcmChain(name, hcm);
}

FilterChain internal::tcpChain(const std::string& name, const std::string& cluster) {
  FilterChain chain;
  chain.set_name(name);
  extensions::filters::network::tcp_proxy::v1::TcpProxy tcp;
  tcp.set_stat_prefix(name);
  tcp.set_cluster(cluster);
  auto* filter = chain.add_filters();
  filter->set_name("remora.filters.network.tcp_proxy");
  filter->mutable_typed_config()->PackFrom(tcp);
  return chain;
}

void internal::matchHttp(FilterChain& chain) {
  for (const auto& p : kHttpProtocols)
    chain.mutable_filter_chain_match()->add_application_protocols(p);
}

void internal::matchPort(FilterChain& chain, uint32_t port) {
  chain.mutable_filter_chain_match()->mutable_destination_port()->set_value(port);
}

bool Translator::serverFirstPort(uint32_t port) {
  switch (port) {
    case 25:
    case 587:
    case 3306:
    case 5432:
    case 6379:
    case 9300:
    case 11211:
      return true;
    default:
      return false;
  }
}

void Translator::indexSidecar(const Object& o) {
  const YamlView& spec = o.view()["spec"];
  SidecarPolicy policy;
  policy.ns = o.ns;
  policy.mode = spec["outboundTrafficPolicy"]["mode"].str();
  if (policy.mode.empty()) return;  // nothing this translator uses
  if (policy.mode != "ALLOW_ANY" && policy.mode != "REGISTRY_ONLY") {
    error(o, "spec.outboundTrafficPolicy.mode",
          "\"" + policy.mode + "\" is not ALLOW_ANY or REGISTRY_ONLY");
    return;
  }
  for (const auto& label : spec["workloadSelector"]["labels"]) {
    policy.selector[label.first.as<std::string>()] = label.second.str();
  }
  sidecars_.push_back(std::move(policy));
}

std::string Translator::outboundPolicy(const std::string& ns, const std::string& pod) const {
  auto labels = pod_index_->pods.find(ns + "/" + pod);
  const SidecarPolicy* namespace_wide = nullptr;
  for (const auto& policy : sidecars_) {
    if (policy.ns != ns) continue;
    if (policy.selector.empty()) {
      if (!namespace_wide) namespace_wide = &policy;
      continue;
    }
    if (labels == pod_index_->pods.end()) continue;
    bool all = true;
    for (const auto& [key, value] : policy.selector) {
      auto it = labels->second->labels.find(key);
      all = all && it != labels->second->labels.end() && it->second == value;
    }
    if (all) return policy.mode;
  }
  return namespace_wide ? namespace_wide->mode : options_.outbound_policy;
}

void Translator::addOutboundListener(bool registry_only, Resources& out) const {
  Listener listener =
      capturingListener("outbound", options_.outbound_address, options_.outbound_port,
                        config::listener::v1::TrafficDirection::OUTBOUND);
  // The pod's own calls only: another pod must not make this proxy call out with this
  // workload's identity (capture sends its connections to 15006 anyway; this holds without).
  listener.set_local_clients_only(true);
  // A connection to the outbound port itself was not redirected: explicit-proxy HTTP (routed
  // by Host), or else refused; passed through it would go to its destination, the proxy.
  std::string own = std::to_string(options_.outbound_port);
  FilterChain explicit_proxy =
      rdsChain("explicit_proxy", "outbound", "outbound", options_.access_log);
  matchPort(explicit_proxy, options_.outbound_port);
  matchHttp(explicit_proxy);
  *listener.add_filter_chains() = explicit_proxy;
  FilterChain own_port = tcpChain("blackhole:" + own, kBlackHole);
  matchPort(own_port, options_.outbound_port);
  *listener.add_filter_chains() = own_port;
  std::set<uint32_t> http_ports;  // ports where some service may speak HTTP
  std::vector<FilterChain> by_sni;
  for (const auto& service : services_) {
    // The addresses a client may dial: the ClusterIP, a ServiceEntry's addresses, or the
    // pods of a headless service.
    std::vector<std::string> ips;
    if (!service.cluster_ip.empty()) ips.push_back(service.cluster_ip);
    for (const auto& a : service.addresses) ips.push_back(a);
    if (service.headless) {
      for (const auto& e : endpointsOf(service)) ips.push_back(e.ip);
    }
    for (const auto& port : service.ports) {
      std::string name = service.fqdn + ":" + std::to_string(port.number);
      std::string cluster = service.from_service_entry && service.resolution == "NONE"
                                ? std::string(kPassthrough)
                                : clusterName(port.number, "", service.fqdn);
      bool opaque = port.opaque || (!port.http && serverFirstPort(port.number));
      if (!opaque) http_ports.insert(port.number);
      if (service.from_service_entry && port.tls && service.addresses.empty()) {
        // TLS to a host only known by name: chosen by SNI.
        FilterChain chain = tcpChain(name, cluster);
        matchPort(chain, port.number);
        chain.mutable_filter_chain_match()->add_server_names(service.fqdn);
        chain.mutable_filter_chain_match()->set_transport_protocol("tls");
        by_sni.push_back(chain);
        continue;
      }
      if (ips.empty()) continue;
      std::string rds = std::to_string(port.number);
      std::string stat = "outbound_" + rds;
      if (port.http) {
        FilterChain chain = rdsChain(name, rds, stat, options_.access_log);
        matchPort(chain, port.number);
        matchAddresses(chain, ips);
        *listener.add_filter_chains() = chain;
        continue;
      }
      if (!opaque) {
        FilterChain chain = rdsChain(name + "/http", rds, stat, options_.access_log);
        matchPort(chain, port.number);
        matchAddresses(chain, ips);
        matchHttp(chain);
        *listener.add_filter_chains() = chain;
      }
      FilterChain chain = tcpChain(name, cluster);
      matchPort(chain, port.number);
      matchAddresses(chain, ips);
      *listener.add_filter_chains() = chain;
    }
  }
  for (auto& chain : by_sni) *listener.add_filter_chains() = std::move(chain);
  // HTTP to other addresses on a service port (pod IPs, or hosts routed by name).
  for (uint32_t port : http_ports) {
    std::string rds = std::to_string(port);
    FilterChain chain = rdsChain("http:" + rds, rds, "outbound_" + rds, options_.access_log);
    matchPort(chain, port);
    matchHttp(chain);
    *listener.add_filter_chains() = chain;
  }
  FilterChain http = rdsChain("http", "outbound", "outbound", options_.access_log);
  matchHttp(http);
  *listener.add_filter_chains() = http;
  // Everything else: where it was going, or nowhere.
  *listener.add_filter_chains() = tcpChain(registry_only ? "blocked" : "passthrough",
                                           registry_only ? kBlackHole : kPassthrough);
  out.listeners["outbound"] = pack(listener);
}

}  // namespace remora::pilot
