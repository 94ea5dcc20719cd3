#pragma once

// Kubernetes and Istio-style objects -> the proxy's resources, for one proxy namespace.
//
// - One EDS cluster per service port (`outbound|<port>||<fqdn>`) and per DestinationRule
//   subset (`outbound|<port>|<subset>|<fqdn>`), with the rule's traffic policy (a subset's own
//   policy overrides the top-level one). Endpoints from Endpoints / EndpointSlices (not-ready
//   addresses marked UNHEALTHY; subsets keep the pods whose labels match).
// - ExternalName services and DNS ServiceEntries become STRICT_DNS clusters; STATIC
//   ServiceEntries STATIC clusters; resolution NONE the PassthroughCluster (ORIGINAL_DST).
//   Headless services: each pod with a hostname gets its own cluster and names.
// - Route configurations: one per HTTP port (named by the port) and `outbound` (names with
//   `:port`, for explicit-proxy use of the outbound listener), the same for every proxy: a
//   service is named by its full name and addresses, and the proxy expands shorter names with
//   the configurations' host_search_suffixes (its own namespace first). Each ends with an
//   allow-any virtual host to PassthroughCluster. VirtualService http routes map to the
//   proxy's routes; without a retry policy Istio's default applies.
// - Listener `outbound` (15001, OUTBOUND, local clients only): original_dst and
//   protocol_detection, then chains (first: a connection to 15001 itself is explicit-proxy
//   HTTP or refused, never passed through)
//   by destination (see translator_listeners.cc): a service's ClusterIP:port to HTTP routing
//   or tcp_proxy per its declared or detected protocol, TLS by SNI for ServiceEntry hosts,
//   HTTP on any address by port, and last HTTP / TCP to PassthroughCluster (ALLOW_ANY) or
//   refused (REGISTRY_ONLY; per Sidecar object or the mesh-wide default).
// - Listener `inbound` (15006, INBOUND) for the proxy's own pod: first the proxy's own ports
//   to BlackHoleCluster (never passed through: that would loop into the proxy), then its
//   service ports to the application at the pod IP (the original destination) from 127.0.0.6
//   (`inbound|<port>||`, ORIGINAL_DST as Istio 1.10+), HTTP through the HTTP connection
//   manager (metrics, access log), anything else passed through the same way
//   (InboundPassthroughCluster). An application bound only to loopback is not reachable.
// - Mutual TLS (translator_tls.cc, translator_peer_authentication.cc, translator_inbound.cc):
//   PeerAuthentication decides per inbound port whether the pod takes mTLS (STRICT), mTLS or
//   plaintext (PERMISSIVE) or plaintext (DISABLE); DestinationRule `tls` decides a cluster's
//   upstream TLS, and without one automatic mTLS (ISTIO_MUTUAL) is used when every endpoint
//   is a pod in the mesh that accepts it. The workload certificate and trust bundle are the
//   secrets `default` and `ROOTCA` of the proxy's own identity agent.
//
// Invalid objects are reported (file, object, field) and left out; everything else is
// translated. The result comes as shared, versioned layers (translator_layers.cc), each
// rebuilt only when what it is made of changed since the previous translation.

#include <google/protobuf/any.pb.h>

#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "source/pilot/manifests.h"
#include "source/pilot/resource_map.h"
#include "source/pilot/security/authorization_policy.h"

namespace remora::config::cluster::v1 {
class Cluster;
}  // namespace remora::config::cluster::v1
namespace remora::config::rbac::v1 {
class Rbac;
}  // namespace remora::config::rbac::v1

namespace remora::pilot {

struct TranslateOptions {
  std::string cluster_domain = "cluster.local";
  std::string outbound_address = "0.0.0.0";
  uint32_t outbound_port = 15001;
  uint32_t inbound_port = 15006;
  // The proxy's other ports (admin, 15020, readiness, DNS). A connection whose original
  // destination is one of them, or the outbound or inbound port, is never passed through:
  // the inbound listener sends it to BlackHoleCluster (see translator_inbound.cc).
  std::vector<uint32_t> proxy_ports = {15000, 15020, 15021, 15053};
  // The source address of the inbound clusters' connections to the application (at the pod
  // IP, the original destination): capture leaves it alone, and the application sees a
  // source that is not the pod's own loopback client (as Istio's 127.0.0.6).
  std::string inbound_source_address = "127.0.0.6";
  // Mesh-wide outboundTrafficPolicy: ALLOW_ANY or REGISTRY_ONLY.
  std::string outbound_policy = "ALLOW_ANY";
  // Access log of every HTTP chain ("" none, "/dev/stdout", or a file).
  std::string access_log;
  // Mesh-wide request normalization of every generated HTTP connection manager, by the names
  // of HttpConnectionManager's path_normalization and path_with_escaped_slashes_action enums
  // ("BASE", "REJECT_REQUEST"); "" leaves the proxy's default (request_normalization.h).
  std::string path_normalization;
  std::string path_with_escaped_slashes_action;
  // Workload identities are spiffe://<trust_domain>/ns/<namespace>/sa/<service-account>.
  std::string trust_domain = "cluster.local";
  // PeerAuthentication (and other mesh-wide policy) without a selector in this namespace
  // applies to the whole mesh.
  std::string root_namespace = "istio-system";
};

// PeerAuthentication's spec.mtls.mode (and portLevelMtls modes).
enum class MtlsMode { kUnset, kDisable, kPermissive, kStrict };

// One proxy's resources by type and name (sorted).
struct Resources {
  std::map<std::string, google::protobuf::Any> clusters;
  std::map<std::string, google::protobuf::Any> endpoints;
  std::map<std::string, google::protobuf::Any> routes;
  std::map<std::string, google::protobuf::Any> listeners;
};

class Translator {
 public:
  // `previous` (the translation before this one, if any): a VirtualService, DestinationRule
  // or PeerAuthentication that is invalid now keeps its last good version from there, so a
  // broken edit leaves routing (and a pod's mTLS) as it was.
  Translator(const std::vector<Object>& objects, TranslateOptions options,
             const Translator* previous = nullptr);
  ~Translator();

  // Objects left out, each with the reason.
  const std::vector<ManifestError>& errors() const { return errors_; }
  // The resources of a proxy in namespace `ns` (short names resolve there) for pod `pod`
  // ("" or a pod not in the manifests: no service ports of its own, so the inbound listener
  // passes everything through to the application).
  Resources translate(const std::string& ns, const std::string& pod = "") const;
  // The same as shared, versioned layers (resource_map.h): what discovery streams serve.
  // Like translate(), not safe to call from two threads at once.
  std::shared_ptr<const ProxyResources> proxyResources(const std::string& ns,
                                                       const std::string& pod = "") const;
  // ALLOW_ANY or REGISTRY_ONLY for that pod: a Sidecar object selecting it, else its
  // namespace's Sidecar without a selector, else the mesh-wide default.
  std::string outboundPolicy(const std::string& ns, const std::string& pod) const;
  // Server-speaks-first ports (SMTP, MySQL, PostgreSQL, Redis, Elasticsearch transport,
  // memcached): never inspected, never HTTP, unless the port says otherwise.
  static bool serverFirstPort(uint32_t port);
  // The PeerAuthentication mode in force for connections to container port `port` of pod
  // `pod` (0: no particular port, e.g. the passthrough of undeclared ports): the port-level
  // mode of the workload policy selecting the pod, else that policy's mode, else the policy of
  // the pod's namespace, else the mesh policy (root namespace), else PERMISSIVE; UNSET
  // inherits from the next level. Never kUnset. A pod not in the manifests has no labels, so
  // only namespace and mesh policies apply to it.
  MtlsMode peerAuthenticationMode(const std::string& ns, const std::string& pod,
                                  uint32_t port) const;
  // A Pod object of that name exists and is not annotated (or labelled)
  // sidecar.istio.io/inject: "false": it has a sidecar with a mesh identity, so other
  // sidecars may use mTLS to it.
  bool meshPod(const std::string& ns, const std::string& pod) const;
  // The service account pod `pod` of namespace `ns` runs as (spec.serviceAccountName, else
  // "default"), or nullopt when there is no such Pod object. Discovery over TLS serves a node
  // only if this matches the caller's certificate.
  std::optional<std::string> podServiceAccount(const std::string& ns, const std::string& pod) const;

  // translator_peer_authentication.cc. Public for the config guard (config_guard.h), which
  // admits a PeerAuthentication only if it reads.
  struct PeerAuthentication {
    std::string ns;
    std::string name;
    // metadata.creationTimestamp in seconds since the epoch; 0 when absent (the oldest).
    int64_t created = 0;
    // spec.selector.matchLabels; empty: the namespace's policy (the mesh's in root_namespace).
    std::map<std::string, std::string> selector;
    MtlsMode mode = MtlsMode::kUnset;
    std::map<uint32_t, MtlsMode> port_modes;  // spec.portLevelMtls by container port
  };
  // Reads and checks one PeerAuthentication; errors go to `errors` when not null.
  static bool parsePeerAuthentication(const Object& o, PeerAuthentication& out,
                                      std::vector<ManifestError>* errors);
  struct Port {
    std::string name;
    uint32_t number = 0;
    std::string target;  // number or name
    bool http = false;
    bool http2 = false;
    bool tls = false;
    // Declared not HTTP (tcp, tls, https, mongo, mysql, redis): plain TCP proxying.
    bool opaque = false;
    // Neither declared HTTP nor opaque: what the client sends decides.
    bool detect() const { return !http && !opaque; }
  };
  struct Endpoint {
    std::string ip;
    std::string hostname;
    std::string pod;
    bool ready = true;
    std::map<std::string, uint32_t> ports;  // by port name ("" for an unnamed port)
  };
  struct Service {
    std::string name;
    std::string ns;
    std::string fqdn;
    std::string cluster_ip;  // "" for headless / ExternalName / ServiceEntry without address
    bool headless = false;
    std::string external_name;
    std::vector<Port> ports;
    // ServiceEntry: resolution ("NONE", "STATIC", "DNS") and its endpoints.
    std::string resolution;
    std::vector<Endpoint> entry_endpoints;
    std::vector<std::string> addresses;
    bool from_service_entry = false;
  };
  // What the translator keeps of a Pod.
  struct PodInfo {
    bool injected = true;                     // no sidecar.istio.io/inject: "false"
    std::string service_account = "default";  // spec.serviceAccountName
    std::map<std::string, std::string> labels;
    std::map<std::string, uint32_t> ports;  // named container ports
    std::string ip;                         // status.podIP when it is an address
    uint64_t fingerprint = 0;               // of all of the above and its key
  };
  // What the translator made of one object of the kinds it indexes (translator_index.cc):
  // kept, and reused by the next translation while the object's revision is the same.
  struct Parsed {
    std::string revision;
    std::shared_ptr<const PodInfo> pod;  // a Pod
    std::vector<Service> services;       // a Service, or a ServiceEntry's hosts
    std::string endpoints_of;            // Endpoints / EndpointSlice: "ns/service"
    std::vector<Endpoint> endpoints;
    std::vector<ManifestError> errors;
  };

 private:
  void index(const std::vector<Object>& objects, const Translator* previous);
  // translator_index.cc: Pods, Services, ServiceEntries, Endpoints, EndpointSlices and
  // Sidecars into the indexes, each object parsed by its kind's function (or taken from
  // `previous` when its revision is unchanged).
  void indexKinds(const std::vector<Object>& objects, const Translator* previous);
  void indexObject(const Object& object, const Translator* previous);
  void indexPods(const std::vector<const Object*>& pods, const Translator* previous);
  // Adds what `parsed` holds to the indexes.
  void indexParsed(const Parsed& parsed);
  void error(const Object& object, const std::string& field, const std::string& message);
  std::string fqdnOf(const std::string& host, const std::string& ns) const;
  const Service* findService(const std::string& fqdn) const;
  const Object* ruleFor(const std::string& fqdn) const;
  const Object* virtualServiceFor(const std::string& fqdn) const;
  std::vector<Endpoint> endpointsOf(const Service& service) const;
  // translator_checks.cc
  bool checkVirtualService(const Object& vs);
  bool checkDestinationRule(const Object& dr);

  void addServiceClusters(const Service& service, Resources& out) const;

  // translator_layers.cc: the translation as shared layers, each rebuilt only when what it
  // is made of changed since the previous translation (compared by fingerprints of the
  // inputs), else taken over from it as the same objects.
  struct ServiceOutput {
    uint64_t fingerprint = 0;
    std::vector<ResourcePtr> clusters;
    std::vector<ResourcePtr> endpoints;
  };
  // A layer (or two, for the inbound side: clusters and listener) with its fingerprint.
  struct LayerOutput {
    uint64_t fingerprint = 0;
    ResourceMapPtr clusters;
    ResourceMapPtr listeners;
    ResourceMapPtr routes;
  };
  void buildMeshLayers(const Translator* previous);
  // Sets authorization_hash_ from the AuthorizationPolicy objects among `objects`.
  void hashAuthorization(const std::vector<Object>& objects);
  void indexForLayers();
  uint64_t serviceFingerprint(size_t service) const;
  uint64_t routesFingerprint(bool registry_only) const;
  uint64_t outboundFingerprint(bool registry_only) const;
  // The cached layer `key` of `cache`, rebuilt by `build` when `fingerprint` differs from the
  // cached or the previous translation's one. Called with cache_lock_ held.
  template <class FingerprintOf, class Build>
  const LayerOutput& layer(std::map<std::string, LayerOutput>& cache,
                           const std::map<std::string, LayerOutput>& previous,
                           const std::string& key, FingerprintOf fingerprint_of, Build build) const;
  // The target ports of pod `pod` (a key "ns/pod") that services send to, with what the
  // services declare (a declared HTTP use wins).
  std::map<uint32_t, Port> inboundPorts(const std::string& pod_key) const;
  const PeerAuthentication* workloadPolicy(const std::string& ns, const std::string& pod) const;
  // translator_tls.cc
  // An endpoint of a cluster: its pod ("ns/pod") and the port it receives on.
  struct EndpointTarget {
    std::string pod_key;  // "" when the address is no pod pilot knows
    uint32_t port = 0;
  };
  // Sets the cluster's transport socket: from the DestinationRule's `tls` (the subset's, else
  // the rule's; null: none), else automatic mTLS when `automatic` (a Kubernetes service's
  // endpoints) and every endpoint in `targets` is a mesh pod whose PeerAuthentication mode
  // for its port is not DISABLE. `sans`: the SPIFFE IDs ISTIO_MUTUAL expects of the server
  // (empty: any identity of the trust domain). `default_sni`: SIMPLE and MUTUAL's SNI without
  // the rule's `sni`; ISTIO_MUTUAL's is outbound_.<port>_.<subset>_.<host>.
  void applyClusterTls(const YamlView& tls, bool automatic, const Port& port,
                       const std::string& subset, const std::string& host,
                       const std::string& default_sni, const std::vector<EndpointTarget>& targets,
                       const std::set<std::string>& sans,
                       config::cluster::v1::Cluster& cluster) const;
  // The SPIFFE IDs of the mesh pods behind `endpoints` of a service in `ns`.
  std::set<std::string> identitiesOf(const std::string& ns,
                                     const std::vector<Endpoint>& endpoints) const;
  // "ns/pod" of an endpoint of a service in `ns` (by targetRef, else by IP); "" if unknown.
  std::string podKeyOf(const std::string& ns, const Endpoint& endpoint) const;
  std::string spiffeId(const std::string& ns, const std::string& service_account) const;
  // translator_routes.cc
  // Shared by every proxy of the mesh: short names are the proxy's to expand
  // (RouteConfiguration.host_search_suffixes, "%NAMESPACE%" being its own namespace).
  void addRoutes(bool registry_only, Resources& out) const;
  // translator_listeners.cc
  void addOutboundListener(bool registry_only, Resources& out) const;
  void indexSidecar(const Object& o);
  // translator_inbound.cc
  void addInbound(const std::string& ns, const std::string& pod, Resources& out) const;
  void addInbound(const std::string& ns, const std::string& pod,
                  const std::map<uint32_t, Port>& ports, const config::rbac::v1::Rbac& rbac,
                  Resources& out) const;
  config::rbac::v1::Rbac workloadRbac(const std::string& ns, const std::string& pod) const;

  TranslateOptions options_;
  std::vector<ManifestError> errors_;
  std::vector<Service> services_;
  std::unordered_map<std::string, size_t> by_fqdn_;
  std::unordered_map<std::string, std::vector<Endpoint>> endpoints_;  // "ns/service"
  // The pods, by "ns/pod" and by address, and what they were made from. Shared with the next
  // translation while the Pod objects are the same documents (an EndpointSlice change does
  // not re-index 50,000 pods).
  struct PodIndex {
    std::unordered_map<std::string, std::shared_ptr<const PodInfo>> pods;   // "ns/pod"
    std::unordered_map<std::string, std::string> by_ip;                     // ip -> "ns/pod"
    std::unordered_map<std::string, std::shared_ptr<const Parsed>> parsed;  // by "ns/pod"
    std::vector<CompactDocumentPtr> inputs;  // the Pod objects, in order
    std::vector<ManifestError> errors;
  };
  std::shared_ptr<const PodIndex> pod_index_;
  // By "Kind/ns/name", for the next translation.
  std::unordered_map<std::string, std::shared_ptr<const Parsed>> parsed_;
  std::vector<Object> virtual_services_;
  std::vector<Object> destination_rules_;
  struct SidecarPolicy {
    std::string ns;
    std::map<std::string, std::string> selector;  // empty: the whole namespace
    std::string mode;
  };
  std::vector<SidecarPolicy> sidecars_;
  // AuthorizationPolicy objects, translated once; the inbound listener of each workload gets
  // the ones that select it.
  std::unique_ptr<AuthorizationPolicies> authorization_;
  std::vector<Object> peer_authentication_objects_;  // the valid ones (kept for last good)
  std::vector<PeerAuthentication> peer_authentications_;

  // Indexes for the layers (translator_layers.cc), built once per translation.
  std::map<std::string, const Object*> rule_by_host_;             // fqdn -> first DestinationRule
  std::map<std::string, const Object*> virtual_service_by_host_;  // fqdn -> first VirtualService
  // "ns/pod" -> (service index, endpoint) of the Kubernetes services sending to it.
  std::unordered_map<std::string, std::vector<std::pair<size_t, const Endpoint*>>>
      endpoints_by_pod_;
  std::map<std::string, uint64_t> pod_hashes_;       // "ns/pod" -> fingerprint of what is known
  std::vector<uint64_t> service_hashes_;             // by index in services_: its definition
  std::map<const Object*, uint64_t> object_hashes_;  // VirtualServices, DestinationRules
  uint64_t policies_hash_ = 0;                       // PeerAuthentications
  uint64_t authorization_hash_ = 0;                  // AuthorizationPolicy objects
  // What every inbound layer is made of (the pods, the service ports sending to them, the
  // authorization policies): when it and the policies are as in the previous translation,
  // its inbound layers are taken over without looking at each pod again.
  uint64_t inbound_inputs_hash_ = 0;
  bool inbound_unchanged_ = false;
  uint64_t options_hash_ = 0;
  std::map<std::string, ServiceOutput> service_outputs_;  // by fqdn
  ResourceMapPtr mesh_clusters_;
  ResourceMapPtr mesh_endpoints_;
  // Layers built on demand (by proxies' streams), and the previous translation's, to reuse.
  mutable std::mutex cache_lock_;
  mutable std::map<std::string, LayerOutput> routes_;    // mode
  mutable std::map<std::string, LayerOutput> outbound_;  // mode
  mutable std::map<std::string, LayerOutput> inbound_;   // "ns/pod"
  std::map<std::string, LayerOutput> previous_routes_;
  std::map<std::string, LayerOutput> previous_outbound_;
  std::map<std::string, LayerOutput> previous_inbound_;
};

}  // namespace remora::pilot
