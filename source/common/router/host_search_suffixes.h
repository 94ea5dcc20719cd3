#pragma once

// The search domains of a route table (RouteConfiguration.host_search_suffixes). A request for
// "reviews" or "reviews.default:9080" that names no domain exactly is tried again as
// "reviews.<suffix>" for each suffix in order, as a pod's resolver expands short names with
// the `search` line of resolv.conf. This is what lets one route configuration, naming each
// service only by its full name, serve proxies in every namespace: "%NAMESPACE%" in a suffix
// becomes the proxy's own namespace when the table is built.
//
// Built once on the main thread; immutable; expand() runs concurrently on workers and does
// not allocate.

#include <google/protobuf/repeated_ptr_field.h>

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "source/common/router/ascii_case.h"
#include "source/interface/config/errors.h"

namespace remora::router {

class HostSearchSuffixes {
 public:
  // The longest DNS name; longer hosts are never expanded.
  static constexpr size_t kMaxNameLength = 253;
  // ":65535"; hosts with a longer port part are never expanded.
  static constexpr size_t kMaxPortLength = 6;
  // What "%NAMESPACE%" in a suffix stands for.
  static constexpr std::string_view kNamespaceVariable = "%NAMESPACE%";

  // No suffixes: nothing is expanded.
  HostSearchSuffixes() = default;

  // Validates `suffixes` (errors under `path`, e.g. "route_config.host_search_suffixes[1]") and
  // substitutes `node_namespace` for "%NAMESPACE%"; with an empty `node_namespace`, the
  // suffixes naming it are dropped. Duplicates after substitution are kept once.
  static HostSearchSuffixes create(const google::protobuf::RepeatedPtrField<std::string>& suffixes,
                                   const std::string& path, std::string_view node_namespace,
                                   config::Errors& errors);

  // The suffixes in force, lowercase, in search order.
  const std::vector<std::string>& suffixes() const { return suffixes_; }

  // Calls `lookup(candidate)` for each expansion of the host `name` (without its port; any
  // case) until one returns non-null, and returns that (null when none does). `port` is the
  // host's ":port" part or empty. For each suffix in order the candidates are
  // "name.suffix:port" then "name.suffix" (just the latter when there is no port): the same
  // port handling as an exact domain. Candidates are lowercase views of a buffer that lives
  // only during the call. A name that is empty, an IP address, ends with "." or already ends
  // with one of the suffixes is not expanded.
  template <class Lookup>
  auto expand(std::string_view name, std::string_view port, Lookup&& lookup) const
      -> decltype(lookup(std::string_view())) {
    if (suffixes_.empty() || !expandable(name) || port.size() > kMaxPortLength) return nullptr;
    char buffer[kMaxNameLength + 1 + kMaxNameLength + kMaxPortLength];
    for (size_t i = 0; i < name.size(); ++i) buffer[i] = asciiLower(name[i]);
    buffer[name.size()] = '.';
    char* after_name = buffer + name.size() + 1;
    for (const std::string& suffix : suffixes_) {
      suffix.copy(after_name, suffix.size());
      size_t bare_length = name.size() + 1 + suffix.size();
      if (!port.empty()) {
        for (size_t i = 0; i < port.size(); ++i) buffer[bare_length + i] = asciiLower(port[i]);
        if (auto found = lookup(std::string_view(buffer, bare_length + port.size()))) {
          return found;
        }
      }
      if (auto found = lookup(std::string_view(buffer, bare_length))) return found;
    }
    return nullptr;
  }

 private:
  // Whether `name` is one a resolver would search for (see expand()).
  bool expandable(std::string_view name) const;

  std::vector<std::string> suffixes_;
};

}  // namespace remora::router
