#pragma once

// analyze's checks of what objects refer to, beyond what each object says on its own:
//
// - VirtualService: each spec.hosts entry matches some service (RMR0102, warning: its routes
//   apply to no traffic); each route and mirror destination names a known host (IST0101), a
//   port that host has (IST0101) and a subset some DestinationRule of that host defines
//   (IST0101) - each an error, since the proxy would answer such requests with 503;
// - DestinationRule: its host is a service (RMR0101, warning: the rule applies to nothing);
//   each subset selects some pod behind the service (IST0173, warning: traffic routed to it
//   fails with 503 UH);
// - AuthorizationPolicy, PeerAuthentication (spec.selector.matchLabels) and Sidecar
//   (spec.workloadSelector.labels): the selector selects some pod of its namespace, or of any
//   namespace in the root namespace (IST0127, warning). Objects without a selector apply to
//   their namespace and are not checked.

#include <string>
#include <vector>

#include "source/pilot/analyze/finding.h"
#include "source/pilot/analyze/mesh_index.h"
#include "source/pilot/manifests.h"

namespace remora::pilot::analyze {

// `objects`: what pilot would admit (the index was built from them).
std::vector<Finding> checkReferences(const std::vector<Object>& objects, const MeshIndex& index,
                                     const std::string& root_namespace);

}  // namespace remora::pilot::analyze
