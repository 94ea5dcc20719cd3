#include "source/pilot/translator.h"

#include <arpa/inet.h>

#include <algorithm>
#include <regex>
#include <set>

#include "remora/config/cluster/v1/cluster.pb.h"
#include "remora/config/endpoint/v1/endpoint.pb.h"
#include "remora/config/listener/v1/listener.pb.h"
#include "remora/config/route/v1/route.pb.h"
#include "remora/extensions/filters/listener/original_dst/v1/original_dst.pb.h"
#include "remora/extensions/filters/network/http_connection_manager/v1/http_connection_manager.pb.h"
#include "remora/extensions/filters/network/tcp_proxy/v1/tcp_proxy.pb.h"
#include "source/pilot/request_normalization.h"
#include "source/pilot/translator_internal.h"
#include "source/pilot/yaml_view.h"

namespace remora::pilot {
namespace {

using namespace internal;  // NOLINT: shared names of the translator's files

using config::cluster::v1::Cluster;
using config::route::v1::Route;
using config::route::v1::RouteConfiguration;
using config::route::v1::VirtualHost;

}  // namespace

bool internal::parseDuration(const std::string& text, google::protobuf::Duration& out) {
  static const std::regex pattern(R"(^([0-9]{1,12})(\.([0-9]{1,9}))?(h|m|s|ms|us)$)");
  std::smatch m;
  if (!std::regex_match(text, m, pattern)) return false;
  // In integers, never through a double: "2.3s" is 2300 ms exactly, not 2299.999...
  std::string unit = m[4];
  const int64_t unit_nanos = unit == "h"    ? int64_t{3600} * 1000000000
                             : unit == "m"  ? int64_t{60} * 1000000000
                             : unit == "s"  ? int64_t{1000000000}
                             : unit == "ms" ? int64_t{1000000}
                                            : int64_t{1000};
  const int64_t whole = std::stoll(m[1]);
  std::string fraction = m[3];
  int64_t fraction_nanos = 0;  // of the fraction of one unit, to 9 digits of it
  if (!fraction.empty()) {
    // unit_nanos * 0.fraction: fraction padded to 9 digits, times unit_nanos / 1e9 (exact
    // for every unit down to microseconds, after scaling the other way).
    fraction.resize(9, '0');
    const int64_t billionths = std::stoll(fraction);
    fraction_nanos = unit_nanos >= 1000000000 ? billionths * (unit_nanos / 1000000000)
                                              : billionths / (1000000000 / unit_nanos);
  }
  const int64_t nanos_per_second = 1000000000;
  // whole <= 10^12 units: at most 3.6e21 ns for hours, so split before multiplying.
  int64_t seconds = unit_nanos >= nanos_per_second ? whole * (unit_nanos / nanos_per_second)
                                                   : whole / (nanos_per_second / unit_nanos);
  int64_t nanos =
      unit_nanos >= nanos_per_second ? 0 : (whole % (nanos_per_second / unit_nanos)) * unit_nanos;
  nanos += fraction_nanos;
  seconds += nanos / nanos_per_second;
  out.set_seconds(seconds);
  out.set_nanos(static_cast<int32_t>(nanos % nanos_per_second));
  return true;
}

Translator::Translator(const std::vector<Object>& objects, TranslateOptions options,
                       const Translator* previous)
    : options_(std::move(options)) {
  index(objects, previous);
  authorization_ = std::make_unique<AuthorizationPolicies>(
      objects, options_.root_namespace, options_.trust_domain,
      previous ? previous->authorization_.get() : nullptr);
  errors_.insert(errors_.end(), authorization_->errors().begin(), authorization_->errors().end());
  hashAuthorization(objects);
  buildMeshLayers(previous);
}

Translator::~Translator() = default;

void Translator::error(const Object& object, const std::string& field, const std::string& message) {
  errors_.push_back({object.where() + ": " + field + ": " + message});
}

std::string Translator::fqdnOf(const std::string& host, const std::string& ns) const {
  std::string suffix = ".svc." + options_.cluster_domain;
  if (host.find('.') == std::string::npos) return host + "." + ns + suffix;
  if (host.size() > 4 && host.compare(host.size() - 4, 4, ".svc") == 0) {
    return host + "." + options_.cluster_domain;
  }
  size_t dot = host.find('.');
  if (host.find('.', dot + 1) == std::string::npos) {
    // name.namespace, when such a service exists
    std::string candidate = host + suffix;
    if (by_fqdn_.count(candidate)) return candidate;
  }
  return host;
}

const Translator::Service* Translator::findService(const std::string& fqdn) const {
  auto it = by_fqdn_.find(fqdn);
  return it == by_fqdn_.end() ? nullptr : &services_[it->second];
}

void Translator::index(const std::vector<Object>& objects, const Translator* previous) {
  indexKinds(objects, previous);
  auto last_good = [&](const Object& o, std::vector<Object> Translator::*list) {
    if (previous == nullptr) return;
    for (const auto& kept : previous->*list) {
      if (kept.ns == o.ns && kept.name == o.name) {
        errors_.back().message += " (keeping its last good version)";
        (this->*list).push_back(kept);
        return;
      }
    }
  };
  for (const auto& o : objects) {
    try {
      if (o.kind == "VirtualService") {
        if (checkVirtualService(o)) {
          virtual_services_.push_back(o);
        } else {
          last_good(o, &Translator::virtual_services_);
        }
      }
      if (o.kind == "DestinationRule") {
        if (checkDestinationRule(o)) {
          destination_rules_.push_back(o);
        } else {
          last_good(o, &Translator::destination_rules_);
        }
      }
      // A broken edit of a STRICT policy must not open the pod to plaintext: keep the last
      // good version (Istio's API server would have refused the edit).
      std::string api = str(o.view()["apiVersion"]);
      // Another API group's kind of that name is not Istio's (without apiVersion it is).
      bool istio = api.empty() || api.rfind("security.istio.io/", 0) == 0;
      if (o.kind == "PeerAuthentication" && istio) {
        PeerAuthentication policy;
        if (parsePeerAuthentication(o, policy, &errors_)) {
          peer_authentication_objects_.push_back(o);
        } else {
          last_good(o, &Translator::peer_authentication_objects_);
        }
      }
    } catch (const YAML::Exception& e) {
      error(o, "(object)", std::string("malformed: ") + e.what());
    }
  }
  for (const auto& o : peer_authentication_objects_) {
    PeerAuthentication policy;
    if (parsePeerAuthentication(o, policy, nullptr)) peer_authentications_.push_back(policy);
  }
}

const Object* Translator::ruleFor(const std::string& fqdn) const {
  auto it = rule_by_host_.find(fqdn);
  return it == rule_by_host_.end() ? nullptr : it->second;
}

const Object* Translator::virtualServiceFor(const std::string& fqdn) const {
  auto it = virtual_service_by_host_.find(fqdn);
  return it == virtual_service_by_host_.end() ? nullptr : it->second;
}

std::vector<Translator::Endpoint> Translator::endpointsOf(const Service& service) const {
  if (service.from_service_entry) return service.entry_endpoints;
  auto it = endpoints_.find(service.ns + "/" + service.name);
  return it == endpoints_.end() ? std::vector<Endpoint>{} : it->second;
}

}  // namespace remora::pilot
