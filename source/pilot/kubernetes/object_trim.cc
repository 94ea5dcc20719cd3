#include "source/pilot/kubernetes/object_trim.h"

namespace remora::pilot::kubernetes {

void trimServerBookkeeping(JsonValue& object) {
  if (JsonValue* metadata = object.find("metadata")) {
    metadata->erase("managedFields");
    if (JsonValue* annotations = metadata->find("annotations")) {
      annotations->erase("kubectl.kubernetes.io/last-applied-configuration");
    }
  }
}

void trimForPilot(const std::string& kind, JsonValue& object) {
  trimServerBookkeeping(object);
  if (kind != "Pod") {
    return;
  }
  object.keepOnly({"apiVersion", "kind", "metadata", "spec", "status"});
  if (JsonValue* metadata = object.find("metadata")) {
    metadata->keepOnly({"name", "namespace", "uid", "resourceVersion", "labels", "annotations",
                        "deletionTimestamp"});
  }
  if (JsonValue* spec = object.find("spec")) {
    spec->keepOnly(
        {"serviceAccountName", "serviceAccount", "nodeName", "hostNetwork", "containers"});
    JsonValue* containers = spec->find("containers");
    if (auto* elements = containers ? containers->elementsForChange() : nullptr) {
      for (JsonValue& container : *elements) {
        container.keepOnly({"name", "ports"});
      }
    }
  }
  if (JsonValue* status = object.find("status")) {
    status->keepOnly({"phase", "podIP", "podIPs"});
  }
}

}  // namespace remora::pilot::kubernetes
