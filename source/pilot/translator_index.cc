// The translator's per-kind readers: one pure function per kind turns an object into what the
// translator keeps of it (Translator::Parsed), and indexKinds() files the results into the
// indexes (services by host, endpoints by service, pods by name and address). A reader's
// result is kept with the object's revision and reused by the next translation while the
// revision is the same, so a change re-reads only the objects that changed.

#include <arpa/inet.h>

#include <algorithm>

#include "source/pilot/fingerprint.h"
#include "source/pilot/translator.h"
#include "source/pilot/translator_internal.h"
#include "source/pilot/yaml_view.h"

namespace remora::pilot {

using namespace internal;  // NOLINT: shared names of the translator's files

namespace {

using Parsed = Translator::Parsed;
using Port = Translator::Port;
using Service = Translator::Service;
using Endpoint = Translator::Endpoint;

bool isIp(const std::string& text) {
  unsigned char buffer[16];
  return inet_pton(AF_INET, text.c_str(), buffer) == 1 ||
         inet_pton(AF_INET6, text.c_str(), buffer) == 1;
}

bool startsWith(const std::string& text, const std::string& prefix) {
  return text.rfind(prefix, 0) == 0;
}

void fail(const Object& o, Parsed& out, const std::string& field, const std::string& message) {
  out.errors.push_back({o.where() + ": " + field + ": " + message});
}

// A port is HTTP by appProtocol, or by its name's prefix (Istio's convention).
void classifyPort(Port& port, const std::string& app_protocol, const std::string& protocol) {
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

uint64_t podFingerprint(const std::string& key, const Translator::PodInfo& pod) {
  Fingerprint f;
  f.add(key).add(pod.injected).add(pod.service_account);
  for (const auto& [name, value] : pod.labels) f.add(name).add(value);
  f.add("|");
  for (const auto& [name, number] : pod.ports) f.add(name).add(number);
  return f.add(pod.ip).value();
}

void readPod(const Object& o, const TranslateOptions&, Parsed& out) {
  auto pod = std::make_shared<Translator::PodInfo>();
  // The annotation (or, as newer Istio reads it, the label) keeps a pod out of the mesh.
  for (const char* where : {"annotations", "labels"}) {
    if (str(o.view()["metadata"][where]["sidecar.istio.io/inject"]) == "false") {
      pod->injected = false;
    }
  }
  for (const char* field : {"serviceAccountName", "serviceAccount"}) {
    std::string account = str(o.view()["spec"][field]);
    if (!account.empty()) {
      pod->service_account = account;
      break;
    }
  }
  for (const auto& label : o.view()["metadata"]["labels"]) {
    pod->labels[label.first.as<std::string>()] = str(label.second);
  }
  for (const auto& container : o.view()["spec"]["containers"]) {
    for (const auto& port : container["ports"]) {
      if (port["name"] && port["containerPort"]) {
        pod->ports[str(port["name"])] = port["containerPort"].as<uint32_t>();
      }
    }
  }
  std::string ip = str(o.view()["status"]["podIP"]);
  if (!ip.empty() && !isIp(ip)) {
    fail(o, out, "status.podIP", "\"" + ip + "\" is not an IP address");
  } else {
    pod->ip = ip;
  }
  pod->fingerprint = podFingerprint(o.ns + "/" + o.name, *pod);
  out.pod = pod;
}

void readService(const Object& o, const TranslateOptions& options, Parsed& out) {
  const YamlView& spec = o.view()["spec"];
  Service s;
  s.name = o.name;
  s.ns = o.ns;
  s.fqdn = o.name + "." + o.ns + ".svc." + options.cluster_domain;
  std::string type = str(spec["type"]);
  std::string cluster_ip = str(spec["clusterIP"]);
  s.headless = cluster_ip == "None";
  s.external_name = type == "ExternalName" ? str(spec["externalName"]) : "";
  if (type == "ExternalName" && s.external_name.empty()) {
    fail(o, out, "spec.externalName", "required for an ExternalName service");
    return;
  }
  if (!s.headless && !cluster_ip.empty() && !isIp(cluster_ip)) {
    fail(o, out, "spec.clusterIP", "\"" + cluster_ip + "\" is not an IP address or None");
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
      fail(o, out, field + ".port", "must be 1..65535");
      ok = false;
      continue;
    }
    if (str(ports[i]["protocol"]) == "UDP" || str(ports[i]["protocol"]) == "SCTP") continue;
    p.target = ports[i]["targetPort"] ? str(ports[i]["targetPort"]) : std::to_string(p.number);
    classifyPort(p, str(ports[i]["appProtocol"]), "");
    s.ports.push_back(p);
  }
  if (ok) out.services.push_back(std::move(s));
}

void readServiceEntry(const Object& o, const TranslateOptions&, Parsed& out) {
  const YamlView& spec = o.view()["spec"];
  std::vector<ManifestError> errors;
  Checker check{o, errors};
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
  out.errors = std::move(errors);
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
    out.services.push_back(std::move(s));
  }
}

void readEndpoints(const Object& o, const TranslateOptions&, Parsed& out) {
  out.endpoints_of = o.ns + "/" + o.name;
  for (const auto& subset : o.view()["subsets"]) {
    std::map<std::string, uint32_t> ports;
    for (const auto& p : subset["ports"]) ports[str(p["name"])] = p["port"].as<uint32_t>();
    for (const char* field : {"addresses", "notReadyAddresses"}) {
      for (const auto& a : subset[field]) {
        Endpoint e;
        e.ip = str(a["ip"]);
        if (!isIp(e.ip)) {
          fail(o, out, std::string("subsets[].") + field + "[].ip",
               "\"" + e.ip + "\" is not an IP address");
          continue;
        }
        e.hostname = str(a["hostname"]);
        e.pod = str(a["targetRef"]["name"]);
        e.ready = std::string(field) == "addresses";
        e.ports = ports;
        out.endpoints.push_back(e);
      }
    }
  }
}

void readEndpointSlice(const Object& o, const TranslateOptions&, Parsed& out) {
  std::string service = str(o.view()["metadata"]["labels"]["kubernetes.io/service-name"]);
  if (service.empty()) {
    fail(o, out, "metadata.labels[kubernetes.io/service-name]", "required");
    return;
  }
  out.endpoints_of = o.ns + "/" + service;
  std::map<std::string, uint32_t> ports;
  for (const auto& p : o.view()["ports"]) ports[str(p["name"])] = p["port"].as<uint32_t>();
  for (const auto& ep : o.view()["endpoints"]) {
    for (const auto& address : ep["addresses"]) {
      Endpoint e;
      e.ip = str(address);
      if (!isIp(e.ip)) {
        fail(o, out, "endpoints[].addresses", "\"" + e.ip + "\" is not an IP address");
        continue;
      }
      e.hostname = str(ep["hostname"]);
      e.pod = str(ep["targetRef"]["name"]);
      // As Kubernetes defines the conditions: `ready` when present; absent, ready unless the
      // endpoint is terminating (`serving` alone does not make a terminating pod a target).
      const YamlView& conditions = ep["conditions"];
      e.ready = conditions["ready"]         ? conditions["ready"].as<bool>()
                : conditions["terminating"] ? !conditions["terminating"].as<bool>()
                                            : true;
      e.ports = ports;
      out.endpoints.push_back(e);
    }
  }
}

using Reader = void (*)(const Object&, const TranslateOptions&, Parsed&);

// The kinds read here, by kind.
Reader readerOf(const std::string& kind) {
  static const std::map<std::string, Reader> kReaders = {
      {"Service", readService},
      {"ServiceEntry", readServiceEntry},
      {"Endpoints", readEndpoints},
      {"EndpointSlice", readEndpointSlice},
  };
  auto it = kReaders.find(kind);
  return it == kReaders.end() ? nullptr : it->second;
}

// What `read` makes of `o`, or the record `before` kept of it when its revision is unchanged.
std::shared_ptr<const Parsed> readOrReuse(
    const Object& o, Reader read, const TranslateOptions& options, const std::string& key,
    const std::unordered_map<std::string, std::shared_ptr<const Parsed>>* before) {
  if (before != nullptr && !o.revision.empty()) {
    auto it = before->find(key);
    if (it != before->end() && it->second->revision == o.revision) return it->second;
  }
  auto fresh = std::make_shared<Parsed>();
  fresh->revision = o.revision;
  try {
    read(o, options, *fresh);
  } catch (const YAML::Exception& e) {
    *fresh = Parsed{};
    fresh->revision = o.revision;
    fresh->errors.push_back({o.where() + ": (object): malformed: " + e.what()});
  }
  return fresh;
}

}  // namespace

void Translator::indexKinds(const std::vector<Object>& objects, const Translator* previous) {
  // Pods first (their errors are reported first), then the rest in the objects' order.
  std::vector<const Object*> pods;
  for (const auto& o : objects) {
    if (o.kind == "Pod") pods.push_back(&o);
  }
  indexPods(pods, previous);
  parsed_.reserve(objects.size() - pods.size());
  for (const auto& o : objects) {
    if (o.kind != "Pod") indexObject(o, previous);
  }
}

void Translator::indexPods(const std::vector<const Object*>& pods, const Translator* previous) {
  const PodIndex* before = previous != nullptr ? previous->pod_index_.get() : nullptr;
  bool same = before != nullptr && before->inputs.size() == pods.size();
  for (size_t i = 0; same && i < pods.size(); ++i) same = before->inputs[i] == pods[i]->document;
  if (same) {
    pod_index_ = previous->pod_index_;
  } else {
    auto index = std::make_shared<PodIndex>();
    index->inputs.reserve(pods.size());
    index->pods.reserve(pods.size());
    index->parsed.reserve(pods.size());
    for (const Object* o : pods) {
      index->inputs.push_back(o->document);
      std::string key = o->ns + "/" + o->name;
      std::shared_ptr<const Parsed> parsed =
          readOrReuse(*o, readPod, options_, key, before ? &before->parsed : nullptr);
      index->errors.insert(index->errors.end(), parsed->errors.begin(), parsed->errors.end());
      if (parsed->pod) {
        index->pods[key] = parsed->pod;
        if (!parsed->pod->ip.empty()) index->by_ip[parsed->pod->ip] = key;
      }
      index->parsed.emplace(std::move(key), std::move(parsed));
    }
    pod_index_ = std::move(index);
  }
  errors_.insert(errors_.end(), pod_index_->errors.begin(), pod_index_->errors.end());
}

void Translator::indexObject(const Object& o, const Translator* previous) {
  if (o.kind == "Sidecar") {
    try {
      indexSidecar(o);
    } catch (const YAML::Exception& e) {
      error(o, "(object)", std::string("malformed: ") + e.what());
    }
    return;
  }
  Reader reader = readerOf(o.kind);
  if (reader == nullptr) return;
  std::string key = o.kind + "/" + o.ns + "/" + o.name;
  auto parsed = readOrReuse(o, reader, options_, key, previous ? &previous->parsed_ : nullptr);
  indexParsed(*parsed);
  parsed_.emplace(std::move(key), std::move(parsed));
}

void Translator::indexParsed(const Parsed& parsed) {
  errors_.insert(errors_.end(), parsed.errors.begin(), parsed.errors.end());
  for (const auto& service : parsed.services) {
    // A ServiceEntry host already defined keeps its first definition.
    if (service.from_service_entry && by_fqdn_.count(service.fqdn)) continue;
    by_fqdn_[service.fqdn] = services_.size();
    services_.push_back(service);
  }
  if (!parsed.endpoints_of.empty()) {
    auto& list = endpoints_[parsed.endpoints_of];
    list.insert(list.end(), parsed.endpoints.begin(), parsed.endpoints.end());
  }
}

}  // namespace remora::pilot
