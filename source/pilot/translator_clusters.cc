// The translator's outbound clusters of a service: one per port and per DestinationRule subset,
// with the rule's traffic policy (load balancing, connection pool, outlier detection, TLS).

#include "remora/config/cluster/v1/cluster.pb.h"
#include "remora/config/endpoint/v1/endpoint.pb.h"
#include "source/pilot/translator.h"
#include "source/pilot/translator_internal.h"
#include "source/pilot/yaml_view.h"

namespace remora::pilot {

using namespace internal;  // NOLINT: shared names of the translator's files

namespace {

using config::cluster::v1::Cluster;

bool labelsMatch(const YamlView& wanted, const std::map<std::string, std::string>& labels) {
  for (const auto& entry : wanted) {
    auto it = labels.find(entry.first.as<std::string>());
    if (it == labels.end() || it->second != str(entry.second)) return false;
  }
  return true;
}

void applyTrafficPolicy(const YamlView& policy, Cluster& cluster) {
  if (!policy) return;
  const YamlView& lb = policy["loadBalancer"];
  if (lb) {
    std::string simple = str(lb["simple"]);
    if (simple == "LEAST_REQUEST" || simple == "LEAST_CONN")
      cluster.set_lb_policy(Cluster::LEAST_REQUEST);
    if (simple == "RANDOM") cluster.set_lb_policy(Cluster::RANDOM);
    if (simple == "ROUND_ROBIN") cluster.set_lb_policy(Cluster::ROUND_ROBIN);
    if (lb["consistentHash"]) {
      cluster.set_lb_policy(lb["consistentHash"]["maglev"] ? Cluster::MAGLEV : Cluster::RING_HASH);
    }
  }
  const YamlView& pool = policy["connectionPool"];
  if (pool) {
    google::protobuf::Duration d;
    if (pool["tcp"]["maxConnections"]) {
      cluster.mutable_circuit_breakers()->mutable_max_connections()->set_value(
          pool["tcp"]["maxConnections"].as<uint32_t>());
    }
    if (pool["tcp"]["connectTimeout"] && parseDuration(str(pool["tcp"]["connectTimeout"]), d)) {
      *cluster.mutable_connect_timeout() = d;
    }
    const YamlView& http = pool["http"];
    if (http["http1MaxPendingRequests"]) {
      cluster.mutable_circuit_breakers()->mutable_max_pending_requests()->set_value(
          http["http1MaxPendingRequests"].as<uint32_t>());
    }
    if (http["http2MaxRequests"]) {
      cluster.mutable_circuit_breakers()->mutable_max_requests()->set_value(
          http["http2MaxRequests"].as<uint32_t>());
    }
    if (http["maxRetries"]) {
      cluster.mutable_circuit_breakers()->mutable_max_retries()->set_value(
          http["maxRetries"].as<uint32_t>());
    }
    if (http["maxRequestsPerConnection"]) {
      cluster.mutable_common_http_protocol_options()
          ->mutable_max_requests_per_connection()
          ->set_value(http["maxRequestsPerConnection"].as<uint32_t>());
    }
    if (http["idleTimeout"] && parseDuration(str(http["idleTimeout"]), d)) {
      *cluster.mutable_common_http_protocol_options()->mutable_idle_timeout() = d;
    }
  }
  const YamlView& outlier = policy["outlierDetection"];
  if (outlier) {
    auto* od = cluster.mutable_outlier_detection();
    google::protobuf::Duration d;
    if (outlier["consecutive5xxErrors"]) {
      od->mutable_consecutive_5xx()->set_value(outlier["consecutive5xxErrors"].as<uint32_t>());
    }
    if (outlier["consecutiveGatewayErrors"]) {
      od->mutable_consecutive_gateway_failure()->set_value(
          outlier["consecutiveGatewayErrors"].as<uint32_t>());
    }
    if (outlier["interval"] && parseDuration(str(outlier["interval"]), d)) {
      *od->mutable_interval() = d;
    }
    if (outlier["baseEjectionTime"] && parseDuration(str(outlier["baseEjectionTime"]), d)) {
      *od->mutable_base_ejection_time() = d;
    }
    if (outlier["maxEjectionPercent"]) {
      od->mutable_max_ejection_percent()->set_value(outlier["maxEjectionPercent"].as<uint32_t>());
    }
  }
}

}  // namespace

void Translator::addServiceClusters(const Service& service, Resources& out) const {
  const Object* rule = ruleFor(service.fqdn);
  auto endpoints = endpointsOf(service);
  // Whom ISTIO_MUTUAL expects: the service's workloads (every subset's).
  std::set<std::string> identities =
      service.from_service_entry ? std::set<std::string>() : identitiesOf(service.ns, endpoints);
  for (const auto& port : service.ports) {
    // Subsets: "" is the whole service.
    std::vector<std::pair<std::string, YamlView>> subsets = {{"", YamlView()}};
    if (rule) {
      for (const auto& s : rule->view()["spec"]["subsets"]) subsets.emplace_back(str(s["name"]), s);
    }
    for (const auto& [subset, subset_node] : subsets) {
      // The subset's tls replaces the rule's.
      YamlView tls = subset_node["trafficPolicy"]["tls"];
      if (!tls && rule) tls = rule->view()["spec"]["trafficPolicy"]["tls"];
      std::vector<EndpointTarget> targets;
      Cluster cluster;
      cluster.set_name(clusterName(port.number, subset, service.fqdn));
      cluster.mutable_connect_timeout()->set_seconds(10);
      cluster.set_http_protocol(port.http2      ? Cluster::HTTP2
                                : port.detect() ? Cluster::USE_DOWNSTREAM_PROTOCOL
                                                : Cluster::HTTP1);
      if (rule) {
        applyTrafficPolicy(rule->view()["spec"]["trafficPolicy"], cluster);
        if (subset_node) applyTrafficPolicy(subset_node["trafficPolicy"], cluster);
      }
      // As Istio: retries are bounded per request (the route's attempts), not by the
      // max_retries breaker, whose default of 3 in flight would turn one failing pod under
      // load into client errors (retries wait out their backoff holding a slot).
      if (!cluster.circuit_breakers().has_max_retries()) {
        cluster.mutable_circuit_breakers()->mutable_max_retries()->set_value(4294967295u);
      }
      config::endpoint::v1::ClusterLoadAssignment cla;
      cla.set_cluster_name(cluster.name());
      auto* locality = cla.add_endpoints();
      for (const auto& e : endpoints) {
        // The target port: the Endpoints port named like the service port, else the target.
        uint32_t target = 0;
        auto named = e.ports.find(port.name);
        if (named != e.ports.end()) {
          target = named->second;
        } else if (e.ports.size() == 1 && port.name.empty()) {
          target = e.ports.begin()->second;
        } else if (!port.target.empty() &&
                   std::all_of(port.target.begin(), port.target.end(), ::isdigit)) {
          target = static_cast<uint32_t>(std::stoul(port.target));
        } else if (!e.pod.empty()) {
          auto pod = pod_index_->pods.find(service.ns + "/" + e.pod);
          if (pod != pod_index_->pods.end() && pod->second->ports.count(port.target))
            target = pod->second->ports.at(port.target);
        }
        if (service.from_service_entry) {
          auto p = e.ports.find(port.name);
          target = p != e.ports.end() ? p->second : port.number;
        }
        if (target == 0) continue;
        if (subset_node) {
          std::string pod_key =
              !e.pod.empty() ? service.ns + "/" + e.pod
                             : (pod_index_->by_ip.count(e.ip) ? pod_index_->by_ip.at(e.ip) : "");
          auto pod = pod_index_->pods.find(pod_key);
          if (pod == pod_index_->pods.end() ||
              !labelsMatch(subset_node["labels"], pod->second->labels)) {
            continue;
          }
        }
        targets.push_back({podKeyOf(service.ns, e), target});
        auto* lb = locality->add_lb_endpoints();
        auto* sa = lb->mutable_endpoint()->mutable_address()->mutable_socket_address();
        sa->set_address(e.ip);
        sa->set_port_value(target);
        if (!e.hostname.empty()) lb->mutable_endpoint()->set_hostname(e.hostname);
        if (!e.ready) lb->set_health_status(config::endpoint::v1::UNHEALTHY);
      }
      // Automatic mTLS only for a Kubernetes service's endpoints: ExternalName services and
      // ServiceEntries name hosts outside the mesh.
      bool automatic = !service.from_service_entry && service.external_name.empty();
      applyClusterTls(tls, automatic, port, subset, service.fqdn,
                      service.external_name.empty() ? service.fqdn : service.external_name, targets,
                      identities, cluster);
      if (!service.external_name.empty() ||
          (service.from_service_entry &&
           (service.resolution == "DNS" || service.resolution == "DNS_ROUND_ROBIN"))) {
        // Resolved by the proxy: the endpoints are names.
        cluster.set_type(Cluster::STRICT_DNS);
        cluster.mutable_load_assignment()->Clear();
        auto* dns = cluster.mutable_load_assignment()->add_endpoints();
        std::vector<std::string> names;
        if (!service.external_name.empty()) {
          names.push_back(service.external_name);
        } else if (service.entry_endpoints.empty()) {
          names.push_back(service.fqdn);
        } else {
          for (const auto& e : service.entry_endpoints) names.push_back(e.ip);
        }
        for (const auto& name : names) {
          auto* sa = dns->add_lb_endpoints()
                         ->mutable_endpoint()
                         ->mutable_address()
                         ->mutable_socket_address();
          sa->set_address(name);
          sa->set_port_value(service.external_name.empty() ? port.number : port.number);
        }
        out.clusters[cluster.name()] = pack(cluster);
        continue;
      }
      if (service.from_service_entry && service.resolution == "NONE") continue;  // passthrough
      if (service.from_service_entry && service.resolution == "STATIC") {
        cluster.set_type(Cluster::STATIC);
        *cluster.mutable_load_assignment() = cla;
        cluster.mutable_load_assignment()->clear_cluster_name();
        out.clusters[cluster.name()] = pack(cluster);
        continue;
      }
      cluster.set_type(Cluster::EDS);
      cluster.mutable_eds_cluster_config()->set_service_name(cluster.name());
      out.clusters[cluster.name()] = pack(cluster);
      out.endpoints[cluster.name()] = pack(cla);
    }
    // Headless: each pod with a hostname is addressable by its own name.
    if (service.headless) {
      for (const auto& e : endpoints) {
        if (e.hostname.empty()) continue;
        std::string pod_fqdn = e.hostname + "." + service.fqdn;
        Cluster cluster;
        cluster.set_name(clusterName(port.number, "", pod_fqdn));
        cluster.set_type(Cluster::STATIC);
        cluster.mutable_connect_timeout()->set_seconds(10);
        cluster.set_http_protocol(port.http2      ? Cluster::HTTP2
                                  : port.detect() ? Cluster::USE_DOWNSTREAM_PROTOCOL
                                                  : Cluster::HTTP1);
        uint32_t target = e.ports.count(port.name) ? e.ports.at(port.name) : port.number;
        addStaticEndpoint(cluster, e.ip, target);
        // One pod: its own identity, the rule's top-level tls.
        YamlView tls = rule ? rule->view()["spec"]["trafficPolicy"]["tls"] : YamlView();
        applyClusterTls(tls, true, port, "", pod_fqdn, pod_fqdn,
                        {{podKeyOf(service.ns, e), target}}, identitiesOf(service.ns, {e}),
                        cluster);
        out.clusters[cluster.name()] = pack(cluster);
      }
    }
  }
}

}  // namespace remora::pilot
