// The translation as shared, versioned layers (resource_map.h), and what keeps a change cheap:
//
//   mesh clusters   every service's outbound clusters, PassthroughCluster, BlackHoleCluster:
//                   one map for all proxies, rebuilt per service (a service's clusters and
//                   endpoints are rebuilt only when the fingerprint of what they are made of
//                   changed: the service, its endpoints, its DestinationRule, the pods behind
//                   it, the PeerAuthentications).
//   mesh endpoints  the same, for the EDS clusters' ClusterLoadAssignments.
//   routes          per outbound policy mode, for the whole mesh (short names are expanded by
//                   the proxy with the configurations' search suffixes).
//   outbound        the outbound listener, per outbound policy mode.
//   inbound         per pod: its inbound listener and clusters.
//
// Every layer is compared with the previous translation's by fingerprint and, when equal,
// taken over as the same object; otherwise made as a new version of it (ResourceMap::make),
// which records the names that changed, so each discovery stream sends just those. An
// EndpointSlice change therefore rebuilds one service's clusters and endpoints, and every
// proxy's stream sends that service's ClusterLoadAssignments only.

#include <functional>

#include "remora/config/cluster/v1/cluster.pb.h"
#include "source/pilot/fingerprint.h"
#include "source/pilot/request_normalization.h"
#include "source/pilot/translator.h"
#include "source/pilot/translator_internal.h"
#include "source/pilot/yaml_view.h"

namespace remora::pilot {

using namespace internal;  // NOLINT: shared names of the translator's files

namespace {

using config::cluster::v1::Cluster;

// Structure and scalars of a YAML value (kinds, keys, texts).
void addView(Fingerprint& f, const YamlView& view) {
  if (view.isMap()) {
    f.add("{");
    for (const auto& entry : view) {
      f.add(entry.first.str());
      addView(f, entry.second);
    }
    f.add("}");
  } else if (view.isSequence()) {
    f.add("[");
    for (const auto& element : view) addView(f, element);
    f.add("]");
  } else if (view) {
    f.add("=").add(view.str());
  } else {
    f.add("~");
  }
}

void addPort(Fingerprint& f, const Translator::Port& port) {
  f.add(port.name).add(port.number).add(port.target).add(port.http).add(port.http2);
  f.add(port.tls).add(port.opaque);
}

void addEndpoint(Fingerprint& f, const Translator::Endpoint& e) {
  f.add(e.ip).add(e.hostname).add(e.pod).add(e.ready);
  for (const auto& [name, number] : e.ports) f.add(name).add(number);
}

std::vector<ResourcePtr> packAll(std::map<std::string, google::protobuf::Any>& from) {
  std::vector<ResourcePtr> out;
  out.reserve(from.size());
  for (auto& [name, any] : from) out.push_back(makeResource(name, std::move(any)));
  return out;
}

ResourceMapPtr mapOf(std::map<std::string, google::protobuf::Any>& from,
                     const ResourceMapPtr& previous) {
  ResourceMap::Entries entries;
  for (auto& [name, any] : from) entries.emplace(name, makeResource(name, std::move(any)));
  return ResourceMap::make(std::move(entries), previous);
}

}  // namespace

void Translator::hashAuthorization(const std::vector<Object>& objects) {
  Fingerprint f;
  for (const auto& o : objects) {
    if (o.kind != "AuthorizationPolicy") continue;
    f.add(o.ns).add(o.name);
    addView(f, o.view());
  }
  authorization_hash_ = f.value();
}

void Translator::indexForLayers() {
  for (const auto& dr : destination_rules_) {
    rule_by_host_.emplace(fqdnOf(str(dr.view()["spec"]["host"]), dr.ns), &dr);
    Fingerprint f;
    addView(f, dr.view());
    object_hashes_[&dr] = f.add(dr.ns).add(dr.name).value();
  }
  for (const auto& vs : virtual_services_) {
    for (const auto& host : vs.view()["spec"]["hosts"]) {
      virtual_service_by_host_.emplace(fqdnOf(str(host), vs.ns), &vs);
    }
    Fingerprint f;
    addView(f, vs.view());
    object_hashes_[&vs] = f.add(vs.ns).add(vs.name).value();
  }
  service_hashes_.reserve(services_.size());
  for (size_t i = 0; i < services_.size(); ++i) {
    const Service& s = services_[i];
    Fingerprint f;
    f.add(s.name).add(s.ns).add(s.fqdn).add(s.cluster_ip).add(s.headless).add(s.external_name);
    for (const auto& port : s.ports) addPort(f, port);
    f.add(s.resolution).add(s.from_service_entry);
    for (const auto& e : s.entry_endpoints) addEndpoint(f, e);
    for (const auto& a : s.addresses) f.add(a);
    service_hashes_.push_back(f.value());
    if (s.from_service_entry) continue;
    auto endpoints = endpoints_.find(s.ns + "/" + s.name);
    if (endpoints == endpoints_.end()) continue;
    for (const auto& e : endpoints->second) {
      std::string pod_key = podKeyOf(s.ns, e);
      // Only the service's own namespace's pods receive its traffic as their inbound.
      if (pod_key.empty() || pod_key.compare(0, s.ns.size() + 1, s.ns + "/") != 0) continue;
      endpoints_by_pod_[pod_key].emplace_back(i, &e);
    }
  }
  Fingerprint policies;
  for (const auto& pa : peer_authentications_) {
    policies.add(pa.ns).add(pa.name).add(pa.created).add(static_cast<uint32_t>(pa.mode));
    for (const auto& [key, value] : pa.selector) policies.add(key).add(value);
    for (const auto& [port, mode] : pa.port_modes)
      policies.add(port).add(static_cast<uint32_t>(mode));
    policies.add("|");
  }
  policies_hash_ = policies.value();
  // What every inbound layer is made of, order-independent over the pods' entries.
  uint64_t by_pod = 0;
  for (const auto& [pod_key, entries] : endpoints_by_pod_) {
    Fingerprint entry;
    entry.add(pod_key);
    for (const auto& [index, endpoint] : entries) {
      entry.add(service_hashes_[index]);
      for (const auto& [name, number] : endpoint->ports) entry.add(name).add(number);
    }
    by_pod += entry.value();
  }
  inbound_inputs_hash_ = Fingerprint()
                             .add(by_pod)
                             .add(reinterpret_cast<uint64_t>(pod_index_.get()))
                             .add(authorization_hash_)
                             .value();
  Fingerprint options;
  options.add(options_.cluster_domain).add(options_.outbound_address);
  options.add(options_.outbound_port).add(options_.inbound_port);
  for (uint32_t port : options_.proxy_ports) options.add(port);
  options.add(options_.inbound_source_address).add(options_.outbound_policy);
  options.add(options_.access_log).add(options_.path_normalization);
  options.add(options_.path_with_escaped_slashes_action).add(options_.trust_domain);
  options.add(options_.root_namespace);
  options_hash_ = options.value();
}

uint64_t Translator::serviceFingerprint(size_t index) const {
  const Service& service = services_[index];
  Fingerprint f;
  f.add(options_hash_).add(service_hashes_[index]).add(policies_hash_);
  if (auto rule = rule_by_host_.find(service.fqdn); rule != rule_by_host_.end()) {
    f.add(object_hashes_.at(rule->second));
  }
  f.add("endpoints");
  if (!service.from_service_entry) {
    if (auto it = endpoints_.find(service.ns + "/" + service.name); it != endpoints_.end()) {
      for (const auto& e : it->second) {
        addEndpoint(f, e);
        // The pod behind it: labels (subsets), named ports, identity, mesh membership.
        auto pod = pod_index_->pods.find(podKeyOf(service.ns, e));
        f.add(pod != pod_index_->pods.end() ? pod->second->fingerprint : uint64_t{0});
      }
    }
  }
  return f.value();
}

uint64_t Translator::routesFingerprint(bool registry_only) const {
  Fingerprint f;
  f.add(options_hash_).add(registry_only);
  for (size_t i = 0; i < services_.size(); ++i) {
    f.add(service_hashes_[i]);
    if (!services_[i].headless) continue;
    for (const auto& e : endpointsOf(services_[i])) f.add(e.hostname);
  }
  for (const auto& vs : virtual_services_) f.add(object_hashes_.at(&vs));
  for (const auto& dr : destination_rules_) f.add(object_hashes_.at(&dr));
  return f.value();
}

uint64_t Translator::outboundFingerprint(bool registry_only) const {
  Fingerprint f;
  f.add(options_hash_).add(registry_only);
  for (size_t i = 0; i < services_.size(); ++i) {
    f.add(service_hashes_[i]);
    if (!services_[i].headless) continue;
    for (const auto& e : endpointsOf(services_[i])) f.add(e.ip);
  }
  return f.value();
}

void Translator::buildMeshLayers(const Translator* previous) {
  indexForLayers();
  ResourceMap::Entries clusters;
  ResourceMap::Entries endpoints;
  for (size_t i = 0; i < services_.size(); ++i) {
    const Service& service = services_[i];
    uint64_t fingerprint = serviceFingerprint(i);
    const ServiceOutput* reuse = nullptr;
    if (previous != nullptr) {
      auto it = previous->service_outputs_.find(service.fqdn);
      if (it != previous->service_outputs_.end() && it->second.fingerprint == fingerprint) {
        reuse = &it->second;
      }
    }
    ServiceOutput output;
    if (reuse != nullptr) {
      output = *reuse;
    } else {
      Resources built;
      try {
        addServiceClusters(service, built);
      } catch (const YAML::Exception&) {
        // A DestinationRule value of the wrong kind: the service keeps default clusters.
      }
      output.fingerprint = fingerprint;
      output.clusters = packAll(built.clusters);
      output.endpoints = packAll(built.endpoints);
    }
    // A host defined twice keeps its first definition's resources (as the maps did).
    for (const auto& r : output.clusters) clusters.emplace(r->name, r);
    for (const auto& r : output.endpoints) endpoints.emplace(r->name, r);
    service_outputs_.emplace(service.fqdn, std::move(output));
  }
  Cluster passthrough;
  passthrough.set_name(kPassthrough);
  passthrough.set_type(Cluster::ORIGINAL_DST);
  passthrough.mutable_connect_timeout()->set_seconds(10);
  clusters.emplace(kPassthrough, makeResource(kPassthrough, passthrough));
  Cluster black_hole;
  black_hole.set_name(kBlackHole);
  black_hole.set_type(Cluster::STATIC);
  clusters.emplace(kBlackHole, makeResource(kBlackHole, black_hole));
  mesh_clusters_ =
      ResourceMap::make(std::move(clusters), previous ? previous->mesh_clusters_ : nullptr);
  mesh_endpoints_ =
      ResourceMap::make(std::move(endpoints), previous ? previous->mesh_endpoints_ : nullptr);
  if (previous == nullptr) return;
  inbound_unchanged_ = previous->inbound_inputs_hash_ == inbound_inputs_hash_ &&
                       previous->policies_hash_ == policies_hash_ &&
                       previous->options_hash_ == options_hash_;
  // The previous translation's on-demand layers (and those it had taken over itself, for
  // proxies that did not ask for a while) are where this one starts from.
  std::lock_guard<std::mutex> guard(previous->cache_lock_);
  auto carry = [](std::map<std::string, LayerOutput>& into,
                  const std::map<std::string, LayerOutput>& older,
                  const std::map<std::string, LayerOutput>& newer) {
    into = older;
    for (const auto& [key, layer] : newer) into[key] = layer;
  };
  carry(previous_routes_, previous->previous_routes_, previous->routes_);
  carry(previous_outbound_, previous->previous_outbound_, previous->outbound_);
  carry(previous_inbound_, previous->previous_inbound_, previous->inbound_);
  // Pods that are gone need no inbound layer any more ("ns/" is a proxy without a pod).
  for (auto it = previous_inbound_.begin(); it != previous_inbound_.end();) {
    bool podless = !it->first.empty() && it->first.back() == '/';
    it = podless || pod_index_->pods.count(it->first) ? std::next(it) : previous_inbound_.erase(it);
  }
}

template <class FingerprintOf, class Build>
const Translator::LayerOutput& Translator::layer(std::map<std::string, LayerOutput>& cache,
                                                 const std::map<std::string, LayerOutput>& previous,
                                                 const std::string& key,
                                                 FingerprintOf fingerprint_of, Build build) const {
  auto cached = cache.find(key);
  if (cached != cache.end()) return cached->second;
  // Only on a miss: at 10,000 services a mesh-wide fingerprint is a millisecond, and every
  // proxy's stream asks for the layers after each change.
  uint64_t fingerprint = fingerprint_of();
  auto before = previous.find(key);
  if (before != previous.end() && before->second.fingerprint == fingerprint) {
    return cache.emplace(key, before->second).first->second;
  }
  LayerOutput output = build(before != previous.end() ? &before->second : nullptr);
  output.fingerprint = fingerprint;
  return cache.emplace(key, std::move(output)).first->second;
}

std::shared_ptr<const ProxyResources> Translator::proxyResources(const std::string& ns,
                                                                 const std::string& pod) const {
  bool registry_only = outboundPolicy(ns, pod) == "REGISTRY_ONLY";
  std::string mode = registry_only ? "REGISTRY_ONLY" : "ALLOW_ANY";
  std::lock_guard<std::mutex> guard(cache_lock_);
  const LayerOutput& routes = layer(
      routes_, previous_routes_, mode, [&] { return routesFingerprint(registry_only); },
      [&](const LayerOutput* before) {
        Resources built;
        addRoutes(registry_only, built);
        LayerOutput out;
        out.routes = mapOf(built.routes, before ? before->routes : nullptr);
        return out;
      });
  const LayerOutput& outbound = layer(
      outbound_, previous_outbound_, mode, [&] { return outboundFingerprint(registry_only); },
      [&](const LayerOutput* before) {
        Resources built;
        addOutboundListener(registry_only, built);
        applyRequestNormalization(options_, built);
        LayerOutput out;
        out.listeners = mapOf(built.listeners, before ? before->listeners : nullptr);
        return out;
      });
  std::string pod_key = ns + "/" + pod;
  const LayerOutput* inbound = nullptr;
  if (inbound_unchanged_) {
    // Nothing any inbound layer is made of changed: the previous translation's is this one's.
    auto cached = inbound_.find(pod_key);
    if (cached == inbound_.end()) {
      auto before = previous_inbound_.find(pod_key);
      if (before != previous_inbound_.end())
        cached = inbound_.emplace(pod_key, before->second).first;
    }
    if (cached != inbound_.end()) inbound = &cached->second;
  }
  if (inbound == nullptr) {
    std::map<uint32_t, Port> ports;
    if (!pod.empty()) ports = inboundPorts(pod_key);
    config::rbac::v1::Rbac rbac = workloadRbac(ns, pod);
    auto fingerprint = [&] {
      Fingerprint f;
      f.add(options_hash_).add(policies_hash_).add(pod_key);
      auto pod_info = pod_index_->pods.find(pod_key);
      f.add(pod_info != pod_index_->pods.end() ? pod_info->second->fingerprint : uint64_t{0});
      for (const auto& [target, port] : ports) {
        f.add(target);
        addPort(f, port);
      }
      return f.add(rbac.SerializeAsString()).value();
    };
    inbound =
        &layer(inbound_, previous_inbound_, pod_key, fingerprint, [&](const LayerOutput* before) {
          Resources built;
          addInbound(ns, pod, ports, rbac, built);
          applyRequestNormalization(options_, built);
          LayerOutput out;
          out.clusters = mapOf(built.clusters, before ? before->clusters : nullptr);
          out.listeners = mapOf(built.listeners, before ? before->listeners : nullptr);
          return out;
        });
  }
  auto out = std::make_shared<ProxyResources>();
  out->clusters = {mesh_clusters_, inbound->clusters};
  out->endpoints = {mesh_endpoints_};
  out->listeners = {outbound.listeners, inbound->listeners};
  out->routes = {routes.routes};
  return out;
}

Resources Translator::translate(const std::string& ns, const std::string& pod) const {
  auto layers = proxyResources(ns, pod);
  Resources out;
  out.clusters = flatten(layers->clusters);
  out.endpoints = flatten(layers->endpoints);
  out.listeners = flatten(layers->listeners);
  out.routes = flatten(layers->routes);
  return out;
}

}  // namespace remora::pilot
