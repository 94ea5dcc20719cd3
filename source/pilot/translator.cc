#include "source/pilot/translator.h"

#include <arpa/inet.h>

#include <algorithm>
#include <regex>
#include <set>

#include "remora/config/cluster/v1/cluster.pb.h"
#include "remora/config/endpoint/v1/endpoint.pb.h"
#include "remora/config/listener/v1/listener.pb.h"
#include "remora/config/route/v1/route.pb.h"
#include "remora/extensions/filters/listener/original_dst/v1/original_dst.pb.h"
#include "remora/extensions/filters/network/http_connection_manager/v1/http_connection_manager.pb.h"
#include "remora/extensions/filters/network/tcp_proxy/v1/tcp_proxy.pb.h"
#include "source/pilot/request_normalization.h"
#include "source/pilot/translator_internal.h"
#include "source/pilot/yaml_view.h"

namespace remora::pilot {
namespace {

using namespace internal;  // NOLINT: shared names of the translator's files

using config::cluster::v1::Cluster;
using config::route::v1::Route;
using config::route::v1::RouteConfiguration;
using config::route::v1::VirtualHost;

}  // namespace

bool internal::parseDuration(const std::string& text, google::protobuf::Duration& out) {
  static const std::regex pattern(R"(^([0-9]{1,12})(\.([0-9]{1,9}))?(h|m|s|ms|us)$)");
  std::smatch m;
  if (!std::regex_match(text, m, pattern)) return false;
  // In integers, never through a double: "2.3s" is 2300 ms exactly, not 2299.999...
  std::string unit = m[4];
  const int64_t unit_nanos = unit == "h"    ? int64_t{3600} * 1000000000
                             : unit == "m"  ? int64_t{60} * 1000000000
                             : unit == "s"  ? int64_t{1000000000}
                             : unit == "ms" ? int64_t{1000000}
                                            : int64_t{1000};
  const int64_t whole = std::stoll(m[1]);
  std::string fraction = m[3];
  int64_t fraction_nanos = 0;  // of the fraction of one unit, to 9 digits of it
  if (!fraction.empty()) {
    // unit_nanos * 0.fraction: fraction padded to 9 digits, times unit_nanos / 1e9 (exact
    // for every unit down to microseconds, after scaling the other way).
    fraction.resize(9, '0');
    const int64_t billionths = std::stoll(fraction);
    fraction_nanos = unit_nanos >= 1000000000 ? billionths * (unit_nanos / 1000000000)
                                              : billionths / (1000000000 / unit_nanos);
  }
  const int64_t nanos_per_second = 1000000000;
  // whole <= 10^12 units: at most 3.6e21 ns for hours, so split before multiplying.
  int64_t seconds = unit_nanos >= nanos_per_second ? whole * (unit_nanos / nanos_per_second)
                                                   : whole / (nanos_per_second / unit_nanos);
  int64_t nanos =
      unit_nanos >= nanos_per_second ? 0 : (whole % (nanos_per_second / unit_nanos)) * unit_nanos;
  nanos += fraction_nanos;
  seconds += nanos / nanos_per_second;
  out.set_seconds(seconds);
  out.set_nanos(static_cast<int32_t>(nanos % nanos_per_second));
  return true;
}

namespace {

bool isIp(const std::string& text) {
  unsigned char buffer[16];
  return inet_pton(AF_INET, text.c_str(), buffer) == 1 ||
         inet_pton(AF_INET6, text.c_str(), buffer) == 1;
}

bool startsWith(const std::string& text, const std::string& prefix) {
  return text.rfind(prefix, 0) == 0;
}

// A port is HTTP by appProtocol, or by its name's prefix (Istio's convention).
void classifyPort(Translator::Port& port, const std::string& app_protocol,
                  const std::string& protocol) {
  std::string hint = !app_protocol.empty() ? app_protocol : protocol;
  std::transform(hint.begin(), hint.end(), hint.begin(), ::tolower);
  std::string name = port.name;
  std::transform(name.begin(), name.end(), name.begin(), ::tolower);
  auto named = [&](const std::string& prefix) {
    return name == prefix || startsWith(name, prefix + "-");
  };
  port.http2 = hint == "http2" || hint == "grpc" || hint == "kubernetes.io/h2c" ||
               (hint.empty() && (named("http2") || named("grpc")));
  port.http = port.http2 || hint == "http" ||
              (hint.empty() && (named("http") || named("http2") || named("grpc")));
  // Opaque by declaration (Istio's list of TCP-ish protocols): never inspected, never HTTP.
  port.tls = hint == "tls" || hint == "https" || (hint.empty() && (named("tls") || named("https")));
  port.opaque =
      !port.http &&
      (port.tls || hint == "tcp" || hint == "mongo" || hint == "mysql" || hint == "redis" ||
       (hint.empty() && (named("tcp") || named("mongo") || named("mysql") || named("redis"))));
}

}  // namespace

Translator::Translator(std::vector<Object> objects, TranslateOptions options,
                       const Translator* previous)
    : options_(std::move(options)) {
  index(objects, previous);
  authorization_ = std::make_unique<AuthorizationPolicies>(
      objects, options_.root_namespace, options_.trust_domain,
      previous ? previous->authorization_.get() : nullptr);
  errors_.insert(errors_.end(), authorization_->errors().begin(), authorization_->errors().end());
  buildMeshLayers(previous);
}

Translator::~Translator() = default;

void Translator::error(const Object& object, const std::string& field, const std::string& message) {
  errors_.push_back({object.where() + ": " + field + ": " + message});
}

std::string Translator::fqdnOf(const std::string& host, const std::string& ns) const {
  std::string suffix = ".svc." + options_.cluster_domain;
  if (host.find('.') == std::string::npos) return host + "." + ns + suffix;
  if (host.size() > 4 && host.compare(host.size() - 4, 4, ".svc") == 0) {
    return host + "." + options_.cluster_domain;
  }
  size_t dot = host.find('.');
  if (host.find('.', dot + 1) == std::string::npos) {
    // name.namespace, when such a service exists
    std::string candidate = host + suffix;
    if (by_fqdn_.count(candidate)) return candidate;
  }
  return host;
}

const Translator::Service* Translator::findService(const std::string& fqdn) const {
  auto it = by_fqdn_.find(fqdn);
  return it == by_fqdn_.end() ? nullptr : &services_[it->second];
}

void Translator::indexObject(const Object& o) {
  const YamlView& spec = o.view()["spec"];
  if (o.kind == "Service") {
    Service s;
    s.name = o.name;
    s.ns = o.ns;
    s.fqdn = o.name + "." + o.ns + ".svc." + options_.cluster_domain;
    std::string type = str(spec["type"]);
    std::string cluster_ip = str(spec["clusterIP"]);
    s.headless = cluster_ip == "None";
    s.external_name = type == "ExternalName" ? str(spec["externalName"]) : "";
    if (type == "ExternalName" && s.external_name.empty()) {
      error(o, "spec.externalName", "required for an ExternalName service");
      return;
    }
    if (!s.headless && !cluster_ip.empty() && !isIp(cluster_ip)) {
      error(o, "spec.clusterIP", "\"" + cluster_ip + "\" is not an IP address or None");
      return;
    }
    if (!s.headless) s.cluster_ip = cluster_ip;
    bool ok = true;
    const YamlView& ports = spec["ports"];
    for (size_t i = 0; i < ports.size(); ++i) {
      Port p;
      p.name = str(ports[i]["name"]);
      std::string field = "spec.ports[" + std::to_string(i) + "]";
      try {
        p.number = ports[i]["port"].as<uint32_t>();
      } catch (const YAML::Exception&) {
        p.number = 0;
      }
      if (p.number == 0 || p.number > 65535) {
        error(o, field + ".port", "must be 1..65535");
        ok = false;
        continue;
      }
      if (str(ports[i]["protocol"]) == "UDP" || str(ports[i]["protocol"]) == "SCTP") continue;
      p.target = ports[i]["targetPort"] ? str(ports[i]["targetPort"]) : std::to_string(p.number);
      classifyPort(p, str(ports[i]["appProtocol"]), "");
      s.ports.push_back(p);
    }
    if (!ok) return;
    by_fqdn_[s.fqdn] = services_.size();
    services_.push_back(std::move(s));
  } else if (o.kind == "Sidecar") {
    indexSidecar(o);
  } else if (o.kind == "ServiceEntry") {
    Checker check{o, errors_};
    std::string resolution = spec["resolution"] ? str(spec["resolution"]) : "NONE";
    if (resolution != "NONE" && resolution != "STATIC" && resolution != "DNS" &&
        resolution != "DNS_ROUND_ROBIN") {
      check.fail("spec.resolution", "must be NONE, STATIC or DNS");
    }
    if (!spec["hosts"] || spec["hosts"].size() == 0) check.fail("spec.hosts", "required");
    std::vector<Port> ports;
    for (size_t i = 0; i < spec["ports"].size(); ++i) {
      Port p;
      const YamlView& port = spec["ports"][i];
      p.name = str(port["name"]);
      try {
        p.number = port["number"].as<uint32_t>();
      } catch (const YAML::Exception&) {
      }
      if (p.number == 0 || p.number > 65535) {
        check.fail("spec.ports[" + std::to_string(i) + "].number", "must be 1..65535");
      }
      p.target = port["targetPort"] ? str(port["targetPort"]) : std::to_string(p.number);
      classifyPort(p, "", str(port["protocol"]));
      ports.push_back(p);
    }
    std::vector<Endpoint> endpoints;
    for (size_t i = 0; i < spec["endpoints"].size(); ++i) {
      const YamlView& e = spec["endpoints"][i];
      Endpoint endpoint;
      endpoint.ip = str(e["address"]);
      if (resolution == "STATIC" && !isIp(endpoint.ip)) {
        check.fail("spec.endpoints[" + std::to_string(i) + "].address",
                   "must be an IP address with resolution STATIC");
      }
      for (const auto& p : e["ports"])
        endpoint.ports[p.first.as<std::string>()] = p.second.as<uint32_t>();
      endpoints.push_back(endpoint);
    }
    if (!check.ok) return;
    for (const auto& host : spec["hosts"]) {
      Service s;
      s.name = str(host);
      s.ns = o.ns;
      s.fqdn = str(host);
      s.ports = ports;
      s.resolution = resolution;
      s.entry_endpoints = endpoints;
      s.from_service_entry = true;
      for (const auto& address : spec["addresses"]) s.addresses.push_back(str(address));
      if (by_fqdn_.count(s.fqdn)) continue;  // the first definition of a host wins
      by_fqdn_[s.fqdn] = services_.size();
      services_.push_back(std::move(s));
    }
  } else if (o.kind == "Endpoints") {
    auto& list = endpoints_[o.ns + "/" + o.name];
    for (const auto& subset : o.view()["subsets"]) {
      std::map<std::string, uint32_t> ports;
      for (const auto& p : subset["ports"]) ports[str(p["name"])] = p["port"].as<uint32_t>();
      for (const char* field : {"addresses", "notReadyAddresses"}) {
        for (const auto& a : subset[field]) {
          Endpoint e;
          e.ip = str(a["ip"]);
          if (!isIp(e.ip)) {
            error(o, std::string("subsets[].") + field + "[].ip",
                  "\"" + e.ip + "\" is not an IP address");
            continue;
          }
          e.hostname = str(a["hostname"]);
          e.pod = str(a["targetRef"]["name"]);
          e.ready = std::string(field) == "addresses";
          e.ports = ports;
          list.push_back(e);
        }
      }
    }
  } else if (o.kind == "EndpointSlice") {
    std::string service = str(o.view()["metadata"]["labels"]["kubernetes.io/service-name"]);
    if (service.empty()) {
      error(o, "metadata.labels[kubernetes.io/service-name]", "required");
      return;
    }
    std::map<std::string, uint32_t> ports;
    for (const auto& p : o.view()["ports"]) ports[str(p["name"])] = p["port"].as<uint32_t>();
    auto& list = endpoints_[o.ns + "/" + service];
    for (const auto& ep : o.view()["endpoints"]) {
      for (const auto& address : ep["addresses"]) {
        Endpoint e;
        e.ip = str(address);
        if (!isIp(e.ip)) {
          error(o, "endpoints[].addresses", "\"" + e.ip + "\" is not an IP address");
          continue;
        }
        e.hostname = str(ep["hostname"]);
        e.pod = str(ep["targetRef"]["name"]);
        e.ready = !ep["conditions"]["ready"] || ep["conditions"]["ready"].as<bool>();
        e.ports = ports;
        list.push_back(e);
      }
    }
  }
}

void Translator::index(const std::vector<Object>& objects, const Translator* previous) {
  // Pods first: Endpoints refer to them.
  for (const auto& o : objects) {
    if (o.kind != "Pod") continue;
    std::string key = o.ns + "/" + o.name;
    PodMesh& mesh = pods_[key];
    // The annotation (or, as newer Istio reads it, the label) keeps a pod out of the mesh.
    for (const char* where : {"annotations", "labels"}) {
      if (str(o.view()["metadata"][where]["sidecar.istio.io/inject"]) == "false") {
        mesh.injected = false;
      }
    }
    for (const char* field : {"serviceAccountName", "serviceAccount"}) {
      std::string account = str(o.view()["spec"][field]);
      if (!account.empty()) {
        mesh.service_account = account;
        break;
      }
    }
    for (const auto& label : o.view()["metadata"]["labels"]) {
      pod_labels_[key][label.first.as<std::string>()] = str(label.second);
    }
    for (const auto& container : o.view()["spec"]["containers"]) {
      for (const auto& port : container["ports"]) {
        if (port["name"] && port["containerPort"]) {
          pod_ports_[key][str(port["name"])] = port["containerPort"].as<uint32_t>();
        }
      }
    }
    std::string ip = str(o.view()["status"]["podIP"]);
    if (!ip.empty()) {
      if (!isIp(ip)) {
        error(o, "status.podIP", "\"" + ip + "\" is not an IP address");
        continue;
      }
      pod_by_ip_[ip] = key;
    }
  }
  for (const auto& o : objects) {
    try {
      indexObject(o);
    } catch (const YAML::Exception& e) {
      error(o, "(object)", std::string("malformed: ") + e.what());
    }
  }
  auto last_good = [&](const Object& o, std::vector<Object> Translator::*list) {
    if (previous == nullptr) return;
    for (const auto& kept : previous->*list) {
      if (kept.ns == o.ns && kept.name == o.name) {
        errors_.back().message += " (keeping its last good version)";
        (this->*list).push_back(kept);
        return;
      }
    }
  };
  for (const auto& o : objects) {
    try {
      if (o.kind == "VirtualService") {
        if (checkVirtualService(o)) {
          virtual_services_.push_back(o);
        } else {
          last_good(o, &Translator::virtual_services_);
        }
      }
      if (o.kind == "DestinationRule") {
        if (checkDestinationRule(o)) {
          destination_rules_.push_back(o);
        } else {
          last_good(o, &Translator::destination_rules_);
        }
      }
      // A broken edit of a STRICT policy must not open the pod to plaintext: keep the last
      // good version (Istio's API server would have refused the edit).
      std::string api = str(o.view()["apiVersion"]);
      // Another API group's kind of that name is not Istio's (without apiVersion it is).
      bool istio = api.empty() || api.rfind("security.istio.io/", 0) == 0;
      if (o.kind == "PeerAuthentication" && istio) {
        PeerAuthentication policy;
        if (parsePeerAuthentication(o, policy, &errors_)) {
          peer_authentication_objects_.push_back(o);
        } else {
          last_good(o, &Translator::peer_authentication_objects_);
        }
      }
    } catch (const YAML::Exception& e) {
      error(o, "(object)", std::string("malformed: ") + e.what());
    }
  }
  for (const auto& o : peer_authentication_objects_) {
    PeerAuthentication policy;
    if (parsePeerAuthentication(o, policy, nullptr)) peer_authentications_.push_back(policy);
  }
}

const Object* Translator::ruleFor(const std::string& fqdn) const {
  auto it = rule_by_host_.find(fqdn);
  return it == rule_by_host_.end() ? nullptr : it->second;
}

const Object* Translator::virtualServiceFor(const std::string& fqdn, const std::string& ns) const {
  (void)ns;
  auto it = virtual_service_by_host_.find(fqdn);
  return it == virtual_service_by_host_.end() ? nullptr : it->second;
}

std::vector<Translator::Endpoint> Translator::endpointsOf(const Service& service) const {
  if (service.from_service_entry) return service.entry_endpoints;
  auto it = endpoints_.find(service.ns + "/" + service.name);
  return it == endpoints_.end() ? std::vector<Endpoint>{} : it->second;
}

}  // namespace remora::pilot
