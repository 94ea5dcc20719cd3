#pragma once

// The routes of one HTTP connection manager: virtual hosts chosen by the request's authority,
// then the first matching route of that host. Built and validated once on the main thread;
// immutable; match() runs concurrently on every worker.

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "remora/config/route/v1/route.pb.h"
#include "source/common/router/ascii_case.h"
#include "source/common/router/header_ops.h"
#include "source/common/router/host_search_suffixes.h"
#include "source/common/router/route_entry.h"
#include "source/interface/config/errors.h"
#include "source/interface/http/header_map.h"

namespace remora::router {

class RouteTable {
 public:
  // Null (errors added with paths under `path`) when anything is invalid. Referenced clusters
  // must satisfy `cluster_exists`. `node_namespace` (the bootstrap's node.namespace, empty when
  // it has none) is what "%NAMESPACE%" in host_search_suffixes stands for.
  static std::shared_ptr<const RouteTable> create(
      const config::route::v1::RouteConfiguration& config, const std::string& path,
      const std::function<bool(std::string_view)>& cluster_exists, config::Errors& errors,
      std::string_view node_namespace = {});

  // The first route of the selected virtual host that matches; null when none does. `random`
  // is accepted for interface stability; weighted choices use RouteEntry::pickCluster.
  const RouteEntry* match(const http::HeaderMap& request, uint64_t random = 0) const;

 private:
  struct VirtualHost {
    std::string name;
    HeaderOps request_ops;
    HeaderOps response_ops;
    std::vector<std::unique_ptr<RouteEntry>> routes;
  };

  // Exact domains, then the search suffixes, then wildcards, then "*". Does not allocate.
  const VirtualHost* selectVirtualHost(std::string_view authority) const;
  const VirtualHost* findExact(std::string_view host) const;

  HeaderOps request_ops_;
  HeaderOps response_ops_;
  std::vector<std::unique_ptr<VirtualHost>> virtual_hosts_;
  // Keys are lowercase; found from a host in any case without a copy.
  std::unordered_map<std::string, const VirtualHost*, AsciiCaseInsensitiveHash,
                     AsciiCaseInsensitiveEqual>
      exact_;
  HostSearchSuffixes search_suffixes_;
  // (suffix after "*", host) longest first; (prefix before "*", host) longest first.
  std::vector<std::pair<std::string, const VirtualHost*>> suffix_wildcards_;
  std::vector<std::pair<std::string, const VirtualHost*>> prefix_wildcards_;
  const VirtualHost* default_ = nullptr;
};

}  // namespace remora::router
