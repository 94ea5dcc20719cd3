#pragma once

// Manifests as the Kubernetes API server would hold them, for tests and benchmarks of pilot's
// Kubernetes source: each object as JSON without kind and apiVersion (list items carry
// neither), Endpoints turned into EndpointSlices the way the EndpointSlice controller makes
// them (the API source reads slices only), grouped by collection path, and served from the
// scripted API server (test/pilot/kubernetes/fake_api_server.h).

#include <yaml-cpp/yaml.h>

#include <map>
#include <string>
#include <vector>

#include "source/pilot/kubernetes/resource_kind.h"
#include "source/pilot/manifests.h"
#include "test/pilot/kubernetes/fake_api_server.h"

namespace remora::pilot::testing {

// Collection path -> list items (JSON).
using ApiCollections = std::map<std::string, std::vector<std::string>>;

// JSON text of a YAML node: quoted scalars are strings; plain ones are numbers, booleans or
// null when they read as such, else strings.
std::string yamlToJson(const YAML::Node& node);

// "/api/v1/services", "/apis/networking.istio.io/v1/virtualservices".
std::string collectionPath(const kubernetes::ResourceKind& kind);

// The objects of `objects` of the kinds pilot lists (meshResourceKinds), by collection; one
// EndpointSlice per Endpoints subset and readiness, named "<service>-<subset>-<a|n>" so that
// their order is the Endpoints' order.
ApiCollections apiCollections(const std::vector<Object>& objects);

// Serves `collections` from `server`: every mesh kind's collection (empty when it has no
// objects), in pages of `page_size` items, and every API group at v1.
void serveCollections(kubernetes::testing::FakeApiServer& server, const ApiCollections& collections,
                      size_t page_size = 50);

}  // namespace remora::pilot::testing
