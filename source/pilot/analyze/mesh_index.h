#pragma once

// What analyze's reference checks look things up in: the hosts services and ServiceEntries
// define (with their ports and the pods behind them), the pods and their labels, and the
// DestinationRules by host. Built from the objects pilot would admit, and resolving host
// names exactly as the translator does (Translator::fqdnOf): a short name in the referring
// object's namespace, `name.namespace` when such a service exists, `name.namespace.svc`, or
// the name as written (an FQDN or a ServiceEntry host).

#include <map>
#include <set>
#include <string>
#include <vector>

#include "source/pilot/manifests.h"

namespace remora::pilot::analyze {

using Labels = std::map<std::string, std::string>;

class MeshIndex {
 public:
  struct Host {
    std::string fqdn;
    std::string ns;
    bool service_entry = false;
    std::set<uint32_t> ports;
    // A Kubernetes service's selector (empty: none, its endpoints are listed by hand).
    Labels selector;
    std::string service_name;
    // A ServiceEntry's endpoints' labels.
    std::vector<Labels> entry_endpoint_labels;
  };
  struct Pod {
    std::string ns;
    std::string name;
    Labels labels;
  };

  // `objects` must outlive the index (it points at the DestinationRules in it).
  MeshIndex(const std::vector<Object>& objects, std::string cluster_domain);

  // The host `host` names from namespace `ns`, as the translator resolves it.
  std::string fqdnOf(const std::string& host, const std::string& ns) const;
  // nullptr when no service or ServiceEntry defines it.
  const Host* find(const std::string& fqdn) const;
  // Some service or ServiceEntry host matches `pattern` ("*", "*.example.com" or a name
  // resolved from `ns`).
  bool anyHostMatches(const std::string& pattern, const std::string& ns) const;

  // The pods that can be endpoints of `host`: a selector service's pods in its namespace,
  // else the pods its Endpoints / EndpointSlices name.
  std::vector<const Pod*> podsOf(const Host& host) const;
  // The pods in `ns` ("" any namespace) whose labels include all of `selector`.
  std::vector<const Pod*> podsSelected(const std::string& ns, const Labels& selector) const;
  bool hasPods() const { return !pods_.empty(); }

  // The DestinationRules whose host resolves to `fqdn`.
  std::vector<const Object*> rulesFor(const std::string& fqdn) const;

  static bool selects(const Labels& selector, const Labels& labels);
  // The name: value pairs of a labels map ("" values for anything not a scalar).
  static Labels labelsOf(const YamlView& map);

 private:
  std::string cluster_domain_;
  std::map<std::string, Host> hosts_;  // by FQDN; the first definition wins, as in the translator
  std::vector<Pod> pods_;
  // "ns/service" -> pod names from Endpoints and EndpointSlices
  std::map<std::string, std::set<std::string>> endpoint_pods_;
  std::vector<const Object*> destination_rules_;
};

}  // namespace remora::pilot::analyze
