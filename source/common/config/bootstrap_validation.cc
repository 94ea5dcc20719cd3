#include "source/common/config/bootstrap_validation.h"

#include <arpa/inet.h>

#include <cctype>
#include <map>
#include <set>
#include <string>

namespace remora::config {
namespace {

using google::protobuf::Duration;

constexpr uint32_t kMinBufferLimit = 1024;
constexpr uint32_t kMaxWeight = 128;

std::string indexed(const std::string& path, const char* field, int i) {
  return path + "." + field + "[" + std::to_string(i) + "]";
}

bool isIpLiteral(const std::string& text) {
  unsigned char buf[sizeof(in6_addr)];
  if (text.find('\0') != std::string::npos) return false;
  return inet_pton(AF_INET, text.c_str(), buf) == 1 || inet_pton(AF_INET6, text.c_str(), buf) == 1;
}

// `allow_port_zero`: listeners and the admin may ask the OS for a port; endpoints may not.
void checkAddress(const core::v1::Address& address, const std::string& path, bool allow_port_zero,
                  Errors& errors) {
  const auto& sa = address.socket_address();
  std::string sa_path = path + ".socket_address";
  if (sa.address().empty()) {
    errors.add(sa_path + ".address", "required: an IPv4 or IPv6 address such as 127.0.0.1");
  } else if (!isIpLiteral(sa.address())) {
    errors.add(sa_path + ".address",
               "\"" + sa.address() + "\" is not an IPv4 or IPv6 address (names are not resolved)");
  }
  uint32_t low = allow_port_zero ? 0 : 1;
  if (sa.port_value() < low || sa.port_value() > 65535) {
    errors.add(sa_path + ".port_value", "must be between " + std::to_string(low) +
                                            " and 65535, got " + std::to_string(sa.port_value()));
  }
}

// A host name as a certificate's DNS SAN carries it: dot-separated labels of letters, digits
// and hyphens (an IP address is no DNS name, and the control plane's certificate is matched
// by DNS name only).
bool isDnsName(const std::string& name) {
  if (name.empty() || name.size() > 253 || isIpLiteral(name)) return false;
  size_t label = 0;
  for (char c : name) {
    if (c == '.') {
      if (label == 0) return false;
      label = 0;
    } else if (std::isalnum(static_cast<unsigned char>(c)) || c == '-') {
      if (++label > 63) return false;
    } else {
      return false;
    }
  }
  return label > 0;
}

void checkWorkloadIdentityTls(const bootstrap::v1::Bootstrap& bootstrap, Errors& errors) {
  const std::string path = "dynamic_resources.ads_config.workload_identity_tls";
  if (!bootstrap.has_workload_identity()) {
    errors.add(path, "needs workload_identity (the certificate presented to the control plane)");
  }
  const std::string& name =
      bootstrap.dynamic_resources().ads_config().workload_identity_tls().server_name();
  if (!name.empty() && !isDnsName(name)) {
    errors.add(path + ".server_name",
               "\"" + name +
                   "\" is not a DNS name (the control plane's certificate is matched by "
                   "DNS name, e.g. remora-pilot.istio-system.svc)");
  }
}

void checkPositive(const Duration& duration, const std::string& path, Errors& errors) {
  if (duration.seconds() < 0 || duration.nanos() < 0 ||
      (duration.seconds() == 0 && duration.nanos() < 1000000)) {
    errors.add(path, "must be positive (at least 1ms)");
  }
}

void checkBufferLimit(const google::protobuf::UInt32Value& limit, const std::string& path,
                      Errors& errors) {
  if (limit.value() < kMinBufferLimit) {
    errors.add(path, "must be at least " + std::to_string(kMinBufferLimit) + " bytes");
  }
}

void checkListener(const listener::v1::Listener& listener, const std::string& path,
                   Errors& errors) {
  if (listener.name().empty()) errors.add(path + ".name", "required");
  if (!listener.has_address()) {
    errors.add(path + ".address", "required");
  } else {
    checkAddress(listener.address(), path + ".address", true, errors);
  }
  if (listener.has_listener_filters_timeout()) {
    checkPositive(listener.listener_filters_timeout(), path + ".listener_filters_timeout", errors);
  }
  if (listener.has_per_connection_buffer_limit_bytes()) {
    checkBufferLimit(listener.per_connection_buffer_limit_bytes(),
                     path + ".per_connection_buffer_limit_bytes", errors);
  }
  for (int i = 0; i < listener.listener_filters_size(); ++i) {
    if (listener.listener_filters(i).name().empty()) {
      errors.add(indexed(path, "listener_filters", i) + ".name", "required");
    }
  }
  if (listener.filter_chains_size() == 0) {
    errors.add(path + ".filter_chains", "at least one filter chain is required");
  }
  std::map<std::string, int> matches;
  for (int c = 0; c < listener.filter_chains_size(); ++c) {
    const auto& chain = listener.filter_chains(c);
    std::string cpath = indexed(path, "filter_chains", c);
    const auto& match = chain.filter_chain_match();
    if (match.has_destination_port() &&
        (match.destination_port().value() < 1 || match.destination_port().value() > 65535)) {
      errors.add(cpath + ".filter_chain_match.destination_port", "must be between 1 and 65535");
    }
    auto [it, inserted] = matches.emplace(match.SerializeAsString(), c);
    if (!inserted) {
      errors.add(cpath + ".filter_chain_match",
                 "duplicate filter_chain_match, also in filter_chains[" +
                     std::to_string(it->second) + "]");
    }
    if (chain.filters_size() == 0)
      errors.add(cpath + ".filters", "at least one filter is required");
    for (int f = 0; f < chain.filters_size(); ++f) {
      if (chain.filters(f).name().empty()) {
        errors.add(indexed(cpath, "filters", f) + ".name", "required");
      }
    }
  }
}

void checkAssignment(const endpoint::v1::ClusterLoadAssignment& assignment,
                     const std::string& apath, bool allow_host_names, Errors& errors) {
  for (int l = 0; l < assignment.endpoints_size(); ++l) {
    std::string lpath = indexed(apath, "endpoints", l);
    const auto& locality = assignment.endpoints(l);
    for (int e = 0; e < locality.lb_endpoints_size(); ++e) {
      std::string epath = indexed(lpath, "lb_endpoints", e);
      const auto& lb_endpoint = locality.lb_endpoints(e);
      if (!lb_endpoint.endpoint().has_address()) {
        errors.add(epath + ".endpoint.address", "required");
      } else {
        if (allow_host_names) {
          const auto& sa = lb_endpoint.endpoint().address().socket_address();
          if (sa.address().empty())
            errors.add(epath + ".endpoint.address.socket_address.address", "required");
          if (sa.port_value() == 0 || sa.port_value() > 65535) {
            errors.add(epath + ".endpoint.address.socket_address.port_value", "must be 1..65535");
          }
        } else {
          checkAddress(lb_endpoint.endpoint().address(), epath + ".endpoint.address", false,
                       errors);
        }
      }
      if (lb_endpoint.has_load_balancing_weight()) {
        uint32_t weight = lb_endpoint.load_balancing_weight().value();
        if (weight < 1 || weight > kMaxWeight) {
          errors.add(epath + ".load_balancing_weight",
                     "must be between 1 and " + std::to_string(kMaxWeight));
        }
      }
    }
  }
}

void checkCluster(const cluster::v1::Cluster& cluster, const std::string& path, Errors& errors) {
  if (cluster.name().empty()) errors.add(path + ".name", "required");
  if (cluster.has_connect_timeout()) {
    checkPositive(cluster.connect_timeout(), path + ".connect_timeout", errors);
  }
  if (cluster.has_per_connection_buffer_limit_bytes()) {
    checkBufferLimit(cluster.per_connection_buffer_limit_bytes(),
                     path + ".per_connection_buffer_limit_bytes", errors);
  }
  const auto& http_options = cluster.common_http_protocol_options();
  if (http_options.has_idle_timeout() &&
      (http_options.idle_timeout().seconds() < 0 || http_options.idle_timeout().nanos() < 0)) {
    errors.add(path + ".common_http_protocol_options.idle_timeout", "must not be negative");
  }
  if (cluster.health_checks_size() > 1) {
    errors.add(path + ".health_checks", "at most one health check per cluster");
  }
  for (int h = 0; h < cluster.health_checks_size(); ++h) {
    const auto& hc = cluster.health_checks(h);
    std::string hpath = indexed(path, "health_checks", h);
    if (!hc.has_http_health_check() && !hc.has_tcp_health_check()) {
      errors.add(hpath, "http_health_check or tcp_health_check is required");
    }
    if (hc.has_interval()) checkPositive(hc.interval(), hpath + ".interval", errors);
    if (hc.has_timeout()) checkPositive(hc.timeout(), hpath + ".timeout", errors);
    for (int r = 0; r < hc.http_health_check().expected_statuses_size(); ++r) {
      const auto& range = hc.http_health_check().expected_statuses(r);
      if (range.start() < 100 || range.end() > 600 || range.start() >= range.end()) {
        errors.add(indexed(hpath + ".http_health_check", "expected_statuses", r),
                   "must be a range of statuses with 100 <= start < end <= 600");
      }
    }
  }
  const auto& budget = cluster.circuit_breakers().retry_budget();
  if (budget.has_budget_percent() &&
      !(budget.budget_percent().value() >= 0 && budget.budget_percent().value() <= 100)) {
    errors.add(path + ".circuit_breakers.retry_budget.budget_percent", "must be between 0 and 100");
  }
  const auto& assignment = cluster.load_assignment();
  std::string apath = path + ".load_assignment";
  if (!assignment.cluster_name().empty() && assignment.cluster_name() != cluster.name()) {
    errors.add(apath + ".cluster_name", "\"" + assignment.cluster_name() +
                                            "\" differs from the cluster name \"" + cluster.name() +
                                            "\"");
  }
  if (cluster.original_dst_to_loopback() && cluster.type() != cluster::v1::Cluster::ORIGINAL_DST) {
    errors.add(path + ".original_dst_to_loopback", "only applies to ORIGINAL_DST clusters");
  }
  if (cluster.has_upstream_bind_config()) {
    const auto& source = cluster.upstream_bind_config().source_address();
    std::string spath = path + ".upstream_bind_config.source_address";
    if (!isIpLiteral(source.address())) {
      errors.add(spath + ".address", "\"" + source.address() + "\" is not an IP address");
    }
    if (source.port_value() > 65535) errors.add(spath + ".port_value", "must be at most 65535");
  }
  size_t endpoints = 0;
  for (const auto& locality : assignment.endpoints()) endpoints += locality.lb_endpoints_size();
  switch (cluster.type()) {
    case cluster::v1::Cluster::EDS:
    case cluster::v1::Cluster::ORIGINAL_DST:
      if (endpoints != 0) {
        errors.add(apath, "must be empty for an " +
                              cluster::v1::Cluster::DiscoveryType_Name(cluster.type()) +
                              " cluster (its hosts are discovered)");
      }
      break;
    case cluster::v1::Cluster::LOGICAL_DNS:
      if (endpoints != 1) errors.add(apath, "a LOGICAL_DNS cluster needs exactly one endpoint");
      break;
    default:
      break;
  }
  if (cluster.type() != cluster::v1::Cluster::EDS && cluster.has_eds_cluster_config()) {
    errors.add(path + ".eds_cluster_config", "only for EDS clusters");
  }
  if (cluster.has_dns_refresh_rate()) {
    checkPositive(cluster.dns_refresh_rate(), path + ".dns_refresh_rate", errors);
  }
  bool dns = cluster.type() == cluster::v1::Cluster::STRICT_DNS ||
             cluster.type() == cluster::v1::Cluster::LOGICAL_DNS;
  checkAssignment(assignment, apath, dns, errors);
}

template <class List>
void checkUniqueNames(const List& items, const std::string& list_path, Errors& errors) {
  std::map<std::string, int> seen;
  for (int i = 0; i < items.size(); ++i) {
    const std::string& name = items[i].name();
    if (name.empty()) continue;
    auto [it, inserted] = seen.emplace(name, i);
    if (!inserted) {
      errors.add(list_path + "[" + std::to_string(i) + "].name",
                 "\"" + name + "\" is already used by " + list_path + "[" +
                     std::to_string(it->second) + "]");
    }
  }
}

}  // namespace

void validateCluster(const cluster::v1::Cluster& cluster, const std::string& path, Errors& errors) {
  checkCluster(cluster, path, errors);
}

void validateEndpoints(const endpoint::v1::ClusterLoadAssignment& assignment,
                       const std::string& path, Errors& errors) {
  if (assignment.cluster_name().empty()) errors.add(path + ".cluster_name", "required");
  checkAssignment(assignment, path, false, errors);
}

void validateListener(const listener::v1::Listener& listener, const std::string& path,
                      Errors& errors) {
  checkListener(listener, path, errors);
}

void validateBootstrap(const bootstrap::v1::Bootstrap& bootstrap, Errors& errors) {
  const auto& dynamic = bootstrap.dynamic_resources();
  auto check_source = [&](bool present, const core::v1::ConfigSource& source, const char* field) {
    if (!present) return;
    std::string path = std::string("dynamic_resources.") + field;
    if (source.path().empty() && !source.has_ads()) {
      errors.add(path, "path or ads is required");
    } else if (source.has_ads() && !dynamic.has_ads_config()) {
      errors.add(path + ".ads", "needs dynamic_resources.ads_config (the control plane's address)");
    }
    if (source.has_initial_fetch_timeout() && (source.initial_fetch_timeout().seconds() < 0 ||
                                               source.initial_fetch_timeout().nanos() < 0)) {
      errors.add(path + ".initial_fetch_timeout", "must not be negative");
    }
  };
  check_source(dynamic.has_cds_config(), dynamic.cds_config(), "cds_config");
  check_source(dynamic.has_lds_config(), dynamic.lds_config(), "lds_config");
  if (dynamic.has_ads_config()) {
    if (!dynamic.ads_config().has_address()) {
      errors.add("dynamic_resources.ads_config.address", "required");
    } else {
      checkAddress(dynamic.ads_config().address(), "dynamic_resources.ads_config.address", false,
                   errors);
    }
    if (dynamic.ads_config().has_workload_identity_tls()) {
      checkWorkloadIdentityTls(bootstrap, errors);
    }
  }
  if (bootstrap.admin().has_address()) {
    checkAddress(bootstrap.admin().address(), "admin.address", true, errors);
  }
  if (bootstrap.has_workload_identity()) {
    const auto& identity = bootstrap.workload_identity();
    if (!identity.has_ca_address()) {
      errors.add("workload_identity.ca_address", "required");
    } else {
      checkAddress(identity.ca_address(), "workload_identity.ca_address", false, errors);
    }
    if (identity.root_cert_file().empty()) {
      errors.add("workload_identity.root_cert_file", "required (the roots that verify the CA)");
    }
    if (identity.token_file().empty()) errors.add("workload_identity.token_file", "required");
    if (bootstrap.node().namespace_().empty()) {
      errors.add("node.namespace", "required with workload_identity (it is part of the identity)");
    }
    if (identity.renew_at() < 0 || identity.renew_at() >= 1) {
      errors.add("workload_identity.renew_at", "must be in [0, 1) (0: the default, 0.5)");
    }
    if (identity.has_certificate_ttl() &&
        (identity.certificate_ttl().seconds() < 1 || identity.certificate_ttl().nanos() < 0)) {
      errors.add("workload_identity.certificate_ttl", "must be at least 1s");
    }
  }
  if (bootstrap.admin().has_readiness_address()) {
    checkAddress(bootstrap.admin().readiness_address(), "admin.readiness_address", true, errors);
  }
  const auto& resources = bootstrap.static_resources();
  for (int i = 0; i < resources.listeners_size(); ++i) {
    checkListener(resources.listeners(i), indexed("static_resources", "listeners", i), errors);
  }
  for (int i = 0; i < resources.clusters_size(); ++i) {
    checkCluster(resources.clusters(i), indexed("static_resources", "clusters", i), errors);
  }
  checkUniqueNames(resources.listeners(), "static_resources.listeners", errors);
  checkUniqueNames(resources.clusters(), "static_resources.clusters", errors);
}

}  // namespace remora::config
