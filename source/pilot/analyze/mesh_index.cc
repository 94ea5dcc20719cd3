#include "source/pilot/analyze/mesh_index.h"

namespace remora::pilot::analyze {
namespace {

// A port number as written, 0 when it is not one.
uint32_t portNumber(const YamlView& value) {
  try {
    return value ? value.as<uint32_t>() : 0;
  } catch (const YAML::Exception&) {
    return 0;
  }
}

bool endsWith(const std::string& text, const std::string& suffix) {
  return text.size() >= suffix.size() &&
         text.compare(text.size() - suffix.size(), suffix.size(), suffix) == 0;
}

}  // namespace

Labels MeshIndex::labelsOf(const YamlView& map) {
  Labels out;
  for (const auto& entry : map) out[entry.first.str()] = entry.second.str();
  return out;
}

bool MeshIndex::selects(const Labels& selector, const Labels& labels) {
  for (const auto& [key, value] : selector) {
    auto it = labels.find(key);
    if (it == labels.end() || it->second != value) return false;
  }
  return true;
}

MeshIndex::MeshIndex(const std::vector<Object>& objects, std::string cluster_domain)
    : cluster_domain_(std::move(cluster_domain)) {
  for (const Object& o : objects) {
    const YamlView spec = o.view()["spec"];
    if (o.kind == "Service") {
      Host host;
      host.fqdn = o.name + "." + o.ns + ".svc." + cluster_domain_;
      host.ns = o.ns;
      host.service_name = o.name;
      host.selector = labelsOf(spec["selector"]);
      for (const auto& port : spec["ports"]) host.ports.insert(portNumber(port["port"]));
      hosts_.emplace(host.fqdn, std::move(host));
    } else if (o.kind == "ServiceEntry") {
      Host host;
      host.ns = o.ns;
      host.service_entry = true;
      for (const auto& port : spec["ports"]) host.ports.insert(portNumber(port["number"]));
      for (const auto& endpoint : spec["endpoints"]) {
        host.entry_endpoint_labels.push_back(labelsOf(endpoint["labels"]));
      }
      for (const auto& name : spec["hosts"]) {
        host.fqdn = name.str();
        hosts_.emplace(host.fqdn, host);
      }
    } else if (o.kind == "Pod") {
      pods_.push_back({o.ns, o.name, labelsOf(o.view()["metadata"]["labels"])});
    } else if (o.kind == "Endpoints") {
      for (const auto& subset : o.view()["subsets"]) {
        for (const char* field : {"addresses", "notReadyAddresses"}) {
          for (const auto& address : subset[field]) {
            endpoint_pods_[o.ns + "/" + o.name].insert(address["targetRef"]["name"].str());
          }
        }
      }
    } else if (o.kind == "EndpointSlice") {
      std::string service = o.view()["metadata"]["labels"]["kubernetes.io/service-name"].str();
      for (const auto& endpoint : o.view()["endpoints"]) {
        endpoint_pods_[o.ns + "/" + service].insert(endpoint["targetRef"]["name"].str());
      }
    } else if (o.kind == "DestinationRule") {
      destination_rules_.push_back(&o);
    }
  }
}

std::string MeshIndex::fqdnOf(const std::string& host, const std::string& ns) const {
  const std::string suffix = ".svc." + cluster_domain_;
  if (host.find('.') == std::string::npos) return host + "." + ns + suffix;
  if (host.size() > 4 && endsWith(host, ".svc")) return host + "." + cluster_domain_;
  size_t dot = host.find('.');
  if (host.find('.', dot + 1) == std::string::npos && hosts_.count(host + suffix)) {
    return host + suffix;  // name.namespace
  }
  return host;
}

const MeshIndex::Host* MeshIndex::find(const std::string& fqdn) const {
  auto it = hosts_.find(fqdn);
  return it == hosts_.end() ? nullptr : &it->second;
}

bool MeshIndex::anyHostMatches(const std::string& pattern, const std::string& ns) const {
  if (pattern == "*") return !hosts_.empty();
  if (pattern.rfind("*.", 0) == 0) {
    const std::string suffix = pattern.substr(1);
    for (const auto& [fqdn, host] : hosts_) {
      if (endsWith(fqdn, suffix)) return true;
    }
    return false;
  }
  return find(fqdnOf(pattern, ns)) != nullptr;
}

std::vector<const MeshIndex::Pod*> MeshIndex::podsOf(const Host& host) const {
  std::vector<const Pod*> out;
  if (host.service_entry) return out;
  if (!host.selector.empty()) return podsSelected(host.ns, host.selector);
  auto named = endpoint_pods_.find(host.ns + "/" + host.service_name);
  if (named == endpoint_pods_.end()) return out;
  for (const Pod& pod : pods_) {
    if (pod.ns == host.ns && named->second.count(pod.name)) out.push_back(&pod);
  }
  return out;
}

std::vector<const MeshIndex::Pod*> MeshIndex::podsSelected(const std::string& ns,
                                                           const Labels& selector) const {
  std::vector<const Pod*> out;
  for (const Pod& pod : pods_) {
    if ((ns.empty() || pod.ns == ns) && selects(selector, pod.labels)) out.push_back(&pod);
  }
  return out;
}

std::vector<const Object*> MeshIndex::rulesFor(const std::string& fqdn) const {
  std::vector<const Object*> out;
  for (const Object* rule : destination_rules_) {
    if (fqdnOf(rule->view()["spec"]["host"].str(), rule->ns) == fqdn) out.push_back(rule);
  }
  return out;
}

}  // namespace remora::pilot::analyze
