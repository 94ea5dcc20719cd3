#pragma once

// The building blocks of pilot's schemas (config_schema*.cc); internal to them.

#include <map>
#include <memory>
#include <string>
#include <vector>

namespace remora::pilot::schema {

struct Field;
using FieldPtr = std::shared_ptr<const Field>;

struct Field {
  enum class Type {
    kString,       // any scalar
    kInteger,      // a whole number
    kNumber,       // any number
    kBool,         // true / false
    kIntOrString,  // Kubernetes' IntOrString (a targetPort)
    kEnum,         // one of `values`
    kObject,       // the listed `fields` (and, when `open`, anything else)
    kMapOf,        // any keys, each value an `element`
    kList,         // a list of `element`
    kAny,          // not looked into (pilot does not read it)
    kUnsupported,  // a real field of the kind that pilot does not implement
  };
  Type type = Type::kAny;
  bool open = false;
  std::vector<std::string> values;
  std::map<std::string, FieldPtr> fields;
  FieldPtr element;
};

FieldPtr text();
FieldPtr integer();
FieldPtr number();
FieldPtr boolean();
FieldPtr intOrString();
FieldPtr anything();
FieldPtr unsupported();
FieldPtr oneOf(std::vector<std::string> values);
FieldPtr object(std::map<std::string, FieldPtr> fields);
// An object whose other fields are allowed (and not looked into).
FieldPtr openObject(std::map<std::string, FieldPtr> fields);
FieldPtr mapOf(FieldPtr value);
FieldPtr listOf(FieldPtr element);
inline FieldPtr labels() { return mapOf(text()); }

// Kubernetes metadata: name, namespace, labels, annotations, creationTimestamp checked; the
// server's other fields (uid, resourceVersion, managedFields...) allowed.
FieldPtr metadata();

// The schemas of the whole documents, by kind (config_schema_istio.cc,
// config_schema_kubernetes.cc).
const std::map<std::string, FieldPtr>& istioKinds();
const std::map<std::string, FieldPtr>& kubernetesKinds();

}  // namespace remora::pilot::schema
