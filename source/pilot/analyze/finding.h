#pragma once

// One problem `remora-pilot analyze` reports, printed as one line the way `istioctl analyze`
// prints its messages:
//
//   Error [IST0101] (VirtualService default/reviews) spec.http[0].route[0].destination.host: ...
//
// Codes reuse Istio's where the meaning is the same (IST0xxx) and are Remora's own otherwise
// (RMR0xxx); the list is in docs/pilot.md ("analyze").

#include <string>
#include <vector>

namespace remora::pilot::analyze {

// The codes, each with its name as docs/pilot.md lists it.
namespace code {
inline constexpr const char* kReferencedResourceNotFound = "IST0101";
inline constexpr const char* kSchemaValidationError = "IST0106";
inline constexpr const char* kNoMatchingWorkloadsFound = "IST0127";
inline constexpr const char* kDestinationRuleSubsetNotSelectPods = "IST0173";
inline constexpr const char* kManifestUnreadable = "RMR0001";
inline constexpr const char* kObjectRejected = "RMR0002";
inline constexpr const char* kDuplicateObject = "RMR0003";
inline constexpr const char* kUnsupportedKind = "RMR0004";
inline constexpr const char* kDestinationRuleHostNotFound = "RMR0101";
inline constexpr const char* kVirtualServiceHostNotFound = "RMR0102";
}  // namespace code

struct Finding {
  enum class Severity { kError, kWarning };
  Severity severity = Severity::kError;
  std::string code;
  std::string kind;  // "" for a problem of a file or the folder (then `file` names it)
  std::string ns;
  std::string name;
  std::string file;
  std::string message;  // "spec.host: ..." (field path first when there is one)

  // "Error [IST0101] (VirtualService default/reviews) message"; a file's problem reads
  // "(file routes.yaml)", one of no object and no file "(mesh)". Objects from a file name it
  // at the end: "... (in routes.yaml)".
  std::string line() const;
};

// Errors first, then by kind, namespace, name, code and message; exact repeats removed. The
// same input always prints the same lines in the same order.
void sortFindings(std::vector<Finding>& findings);

bool hasErrors(const std::vector<Finding>& findings);

}  // namespace remora::pilot::analyze
