#include "source/common/router/route_table.h"

#include <algorithm>
#include <set>

namespace remora::router {
namespace {

std::string lower(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(), asciiLower);
  return out;
}

}  // namespace

std::shared_ptr<const RouteTable> RouteTable::create(
    const config::route::v1::RouteConfiguration& config, const std::string& path,
    const std::function<bool(std::string_view)>& cluster_exists, config::Errors& errors,
    std::string_view node_namespace) {
  size_t before = errors.lines().size();
  auto table = std::shared_ptr<RouteTable>(new RouteTable());
  table->search_suffixes_ = HostSearchSuffixes::create(
      config.host_search_suffixes(), path + ".host_search_suffixes", node_namespace, errors);
  table->request_ops_ =
      HeaderOps(config.request_headers_to_add(), config.request_headers_to_remove());
  table->response_ops_ =
      HeaderOps(config.response_headers_to_add(), config.response_headers_to_remove());
  std::set<std::string> names;
  std::set<std::string> domains;
  for (int v = 0; v < config.virtual_hosts_size(); ++v) {
    const auto& proto = config.virtual_hosts(v);
    std::string vpath = path + ".virtual_hosts[" + std::to_string(v) + "]";
    auto vhost = std::make_unique<VirtualHost>();
    vhost->name = proto.name();
    if (proto.name().empty()) {
      errors.add(vpath + ".name", "required");
    } else if (!names.insert(proto.name()).second) {
      errors.add(vpath + ".name", "\"" + proto.name() + "\" is used by another virtual host");
    }
    vhost->request_ops =
        HeaderOps(proto.request_headers_to_add(), proto.request_headers_to_remove());
    vhost->response_ops =
        HeaderOps(proto.response_headers_to_add(), proto.response_headers_to_remove());
    if (proto.domains_size() == 0) errors.add(vpath + ".domains", "at least one is required");
    for (int d = 0; d < proto.domains_size(); ++d) {
      std::string domain = lower(proto.domains(d));
      std::string dpath = vpath + ".domains[" + std::to_string(d) + "]";
      if (!domains.insert(domain).second) {
        errors.add(dpath, "\"" + domain + "\" is already used by another virtual host");
        continue;
      }
      size_t stars = std::count(domain.begin(), domain.end(), '*');
      if (domain == "*") {
        table->default_ = vhost.get();
      } else if (stars == 0 && !domain.empty()) {
        table->exact_.emplace(domain, vhost.get());
      } else if (stars == 1 && domain.front() == '*') {
        table->suffix_wildcards_.emplace_back(domain.substr(1), vhost.get());
      } else if (stars == 1 && domain.back() == '*') {
        table->prefix_wildcards_.emplace_back(domain.substr(0, domain.size() - 1), vhost.get());
      } else {
        errors.add(dpath,
                   "\"" + domain + "\" is not a domain: use a name, *.suffix, prefix.* or *");
      }
    }
    std::shared_ptr<TokenBucket> vhost_bucket;
    if (proto.has_rate_limit()) {
      vhost_bucket = makeTokenBucket(proto.rate_limit(), vpath + ".rate_limit", errors);
    }
    std::vector<const HeaderOps*> request_parents = {&table->request_ops_, &vhost->request_ops};
    std::vector<const HeaderOps*> response_parents = {&table->response_ops_, &vhost->response_ops};
    for (int r = 0; r < proto.routes_size(); ++r) {
      std::string rpath = vpath + ".routes[" + std::to_string(r) + "]";
      auto entry =
          RouteEntry::create(proto.routes(r), rpath, request_parents, response_parents, errors);
      // Cluster names are checked even when the route has other errors: all are reported.
      if (proto.routes(r).has_route()) {
        const auto& action = proto.routes(r).route();
        if (action.has_weighted_clusters()) {
          const auto& clusters = action.weighted_clusters().clusters();
          for (int i = 0; i < clusters.size(); ++i) {
            if (!cluster_exists(clusters[i].name())) {
              errors.add(
                  rpath + ".route.weighted_clusters.clusters[" + std::to_string(i) + "].name",
                  "unknown cluster \"" + clusters[i].name() + "\"");
            }
          }
        } else if (!action.cluster().empty() && !cluster_exists(action.cluster())) {
          errors.add(rpath + ".route.cluster", "unknown cluster \"" + action.cluster() + "\"");
        }
        for (int m = 0; m < action.request_mirror_policies_size(); ++m) {
          const std::string& name = action.request_mirror_policies(m).cluster();
          if (!name.empty() && !cluster_exists(name)) {
            errors.add(rpath + ".route.request_mirror_policies[" + std::to_string(m) + "].cluster",
                       "unknown cluster \"" + name + "\"");
          }
        }
      }
      if (!entry) continue;
      entry->setVirtualHostRateLimit(vhost_bucket);
      vhost->routes.push_back(std::move(entry));
    }
    table->virtual_hosts_.push_back(std::move(vhost));
  }
  std::stable_sort(table->suffix_wildcards_.begin(), table->suffix_wildcards_.end(),
                   [](const auto& a, const auto& b) { return a.first.size() > b.first.size(); });
  std::stable_sort(table->prefix_wildcards_.begin(), table->prefix_wildcards_.end(),
                   [](const auto& a, const auto& b) { return a.first.size() > b.first.size(); });
  if (errors.lines().size() != before) return nullptr;
  return table;
}

const RouteTable::VirtualHost* RouteTable::findExact(std::string_view host) const {
  auto it = exact_.find(host);
  return it == exact_.end() ? nullptr : it->second;
}

const RouteTable::VirtualHost* RouteTable::selectVirtualHost(std::string_view authority) const {
  // "host:port" matches a domain with the same port first, then the bare host.
  std::string_view host = authority;
  std::string_view bare = host;
  std::string_view port;
  size_t colon = host.rfind(':');
  if (colon != std::string_view::npos && host.find(']', colon) == std::string_view::npos) {
    bare = host.substr(0, colon);
    port = host.substr(colon);
  }
  for (std::string_view candidate : {host, bare}) {
    if (const VirtualHost* vhost = findExact(candidate)) return vhost;
  }
  if (const VirtualHost* vhost = search_suffixes_.expand(
          bare, port, [this](std::string_view candidate) { return findExact(candidate); })) {
    return vhost;
  }
  for (std::string_view candidate : {host, bare}) {
    for (const auto& [suffix, vhost] : suffix_wildcards_) {
      if (candidate.size() > suffix.size() && endsWithIgnoringAsciiCase(candidate, suffix)) {
        return vhost;
      }
    }
    for (const auto& [prefix, vhost] : prefix_wildcards_) {
      if (candidate.size() > prefix.size() && startsWithIgnoringAsciiCase(candidate, prefix)) {
        return vhost;
      }
    }
  }
  return default_;
}

const RouteEntry* RouteTable::match(const http::HeaderMap& request, uint64_t) const {
  const VirtualHost* vhost = selectVirtualHost(request.authority());
  if (vhost == nullptr) return nullptr;
  for (const auto& route : vhost->routes) {
    if (route->matches(request)) return route.get();
  }
  return nullptr;
}

}  // namespace remora::router
