#pragma once

// What of an API object pilot keeps. The API server sends whole objects; a pod is ~3 KB of
// JSON, most of it (managedFields, volumes, images, container statuses) never read by the
// translator, and at 50,000 pods the kept objects are most of pilot's memory.

#include <string>

#include "source/pilot/kubernetes/json_value.h"

namespace remora::pilot::kubernetes {

// Removes what only the API server and kubectl use: metadata.managedFields and the
// kubectl.kubernetes.io/last-applied-configuration annotation.
void trimServerBookkeeping(JsonValue& object);

// trimServerBookkeeping, and for a Pod everything but what the translator reads:
// metadata (name, namespace, uid, resourceVersion, labels, annotations, deletionTimestamp),
// spec (serviceAccountName, serviceAccount, nodeName, hostNetwork, containers[].name and
// .ports) and status (phase, podIP, podIPs). A translator reading a new Pod field adds it here.
void trimForPilot(const std::string& kind, JsonValue& object);

}  // namespace remora::pilot::kubernetes
