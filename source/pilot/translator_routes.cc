// The translator's route configurations: one per HTTP port and `outbound`, each virtual host
// from a service and its VirtualService (matches, splits, redirects, rewrites, retries,
// faults, mirrors, header operations), and the allow-any / block-all host at the end.

#include <functional>

#include "remora/config/route/v1/route.pb.h"
#include "source/pilot/translator.h"
#include "source/pilot/translator_internal.h"
#include "source/pilot/yaml_view.h"

namespace remora::pilot {

using namespace internal;  // NOLINT: shared names of the translator's files

namespace {

using config::route::v1::Route;
using config::route::v1::RouteConfiguration;
using config::route::v1::VirtualHost;

// Session affinity: DestinationRule consistentHash becomes the route's hash policy.
void addHashPolicy(const YamlView& rule, const std::string& subset,
                   config::route::v1::RouteAction& action) {
  if (!rule) return;
  YamlView policy = rule["spec"]["trafficPolicy"];
  for (const auto& s : rule["spec"]["subsets"]) {
    if (str(s["name"]) == subset && s["trafficPolicy"]) policy = s["trafficPolicy"];
  }
  const YamlView& hash = policy["loadBalancer"]["consistentHash"];
  if (!hash) return;
  auto* hp = action.add_hash_policy();
  if (hash["httpHeaderName"]) {
    hp->mutable_header()->set_header_name(str(hash["httpHeaderName"]));
  } else if (hash["httpCookie"]) {
    hp->mutable_cookie()->set_name(str(hash["httpCookie"]["name"]));
    if (hash["httpCookie"]["path"]) hp->mutable_cookie()->set_path(str(hash["httpCookie"]["path"]));
    google::protobuf::Duration d;
    if (parseDuration(str(hash["httpCookie"]["ttl"]), d)) *hp->mutable_cookie()->mutable_ttl() = d;
  } else if (hash["useSourceIp"] && hash["useSourceIp"].as<bool>()) {
    hp->mutable_connection_properties()->set_source_ip(true);
  } else if (hash["httpQueryParameterName"]) {
    hp->mutable_query_parameter()->set_name(str(hash["httpQueryParameterName"]));
  }
}

void istioDefaultRetries(config::route::v1::RouteAction& action) {
  auto* retry = action.mutable_retry_policy();
  retry->set_retry_on(
      "connect-failure,refused-stream,unavailable,cancelled,retriable-status-codes");
  retry->mutable_num_retries()->set_value(2);
  retry->add_retriable_status_codes(503);
}

void addHeaderOps(const YamlView& ops,
                  google::protobuf::RepeatedPtrField<config::route::v1::HeaderValueOption>* add,
                  google::protobuf::RepeatedPtrField<std::string>* remove) {
  if (!ops) return;
  for (const auto& entry : ops["set"]) {
    auto* option = add->Add();
    option->mutable_header()->set_key(entry.first.as<std::string>());
    option->mutable_header()->set_value(str(entry.second));
  }
  for (const auto& entry : ops["add"]) {
    auto* option = add->Add();
    option->mutable_header()->set_key(entry.first.as<std::string>());
    option->mutable_header()->set_value(str(entry.second));
    option->set_append(true);
  }
  for (const auto& name : ops["remove"]) *remove->Add() = str(name);
}

template <class Matcher>
void stringMatch(const YamlView& node, Matcher& matcher, bool header) {
  if (node["exact"])
    matcher.set_exact_match(str(node["exact"]));
  else if (node["prefix"])
    matcher.set_prefix_match(str(node["prefix"]));
  else if (node["regex"])
    matcher.set_safe_regex_match(str(node["regex"]));
  else if (header)
    matcher.set_present_match(true);
}

}  // namespace

namespace {

struct RouteBuilder {
  const Translator* translator;
  std::function<std::string(const std::string&, const std::string&)> fqdn;
  std::function<const Translator::Service*(const std::string&)> find;
  std::function<const Object*(const std::string&)> rule;

  // The cluster of a destination: its host, subset and port (the service's only port, or
  // `default_port` when the destination is the service itself).
  std::string destination(const YamlView& d, const std::string& ns, uint32_t default_port) const {
    std::string host = fqdn(str(d["host"]), ns);
    uint32_t port = d["port"]["number"] ? d["port"]["number"].as<uint32_t>() : 0;
    if (port == 0) {
      // Unset: the destination's only port, else the port the request came in on.
      const Translator::Service* s = find(host);
      port = s && s->ports.size() == 1 ? s->ports[0].number : default_port;
    }
    const Translator::Service* s = find(host);
    if (s && s->from_service_entry && s->resolution == "NONE") return kPassthrough;
    return clusterName(port, str(d["subset"]), host);
  }

  void httpRoutes(const Object& vs, const Translator::Service& service, uint32_t port,
                  VirtualHost& vh) const {
    const YamlView& http = vs.view()["spec"]["http"];
    for (size_t i = 0; i < http.size(); ++i) {
      const YamlView& h = http[i];
      std::vector<YamlView> matches;
      for (const auto& m : h["match"]) matches.push_back(m);
      if (matches.empty()) matches.push_back(YamlView());
      for (size_t m = 0; m < matches.size(); ++m) {
        const YamlView& match = matches[m];
        if (match && match["port"] && match["port"].as<uint32_t>() != port) continue;
        Route route;
        route.set_name(str(h["name"]).empty() ? "http[" + std::to_string(i) + "]" : str(h["name"]));
        auto* rm = route.mutable_match();
        const YamlView& uri = match ? match["uri"] : YamlView();
        if (uri && uri["exact"])
          rm->set_path(str(uri["exact"]));
        else if (uri && uri["prefix"])
          rm->set_prefix(str(uri["prefix"]));
        else if (uri && uri["regex"])
          rm->set_safe_regex(str(uri["regex"]));
        else
          rm->set_prefix("/");
        if (match && match["ignoreUriCase"] && match["ignoreUriCase"].as<bool>()) {
          rm->mutable_case_sensitive()->set_value(false);
        }
        if (match) {
          for (const auto& header : match["headers"]) {
            auto* hm = rm->add_headers();
            hm->set_name(header.first.as<std::string>());
            stringMatch(header.second, *hm, true);
          }
          for (const auto& header : match["withoutHeaders"]) {
            auto* hm = rm->add_headers();
            hm->set_name(header.first.as<std::string>());
            stringMatch(header.second, *hm, true);
            hm->set_invert_match(true);
          }
          for (const auto& param : match["queryParams"]) {
            auto* qm = rm->add_query_parameters();
            qm->set_name(param.first.as<std::string>());
            stringMatch(param.second, *qm, false);
            if (!param.second["exact"] && !param.second["prefix"] && !param.second["regex"]) {
              qm->set_present_match(true);
            }
          }
          if (match["method"] && match["method"]["exact"])
            rm->add_methods(str(match["method"]["exact"]));
        }
        if (h["redirect"]) {
          auto* redirect = route.mutable_redirect();
          if (h["redirect"]["uri"]) redirect->set_path_redirect(str(h["redirect"]["uri"]));
          if (h["redirect"]["authority"])
            redirect->set_host_redirect(str(h["redirect"]["authority"]));
          if (h["redirect"]["scheme"]) redirect->set_scheme_redirect(str(h["redirect"]["scheme"]));
          uint32_t code =
              h["redirect"]["redirectCode"] ? h["redirect"]["redirectCode"].as<uint32_t>() : 301;
          using Code = config::route::v1::RedirectAction;
          redirect->set_response_code(code == 302   ? Code::FOUND
                                      : code == 303 ? Code::SEE_OTHER
                                      : code == 307 ? Code::TEMPORARY_REDIRECT
                                      : code == 308 ? Code::PERMANENT_REDIRECT
                                                    : Code::MOVED_PERMANENTLY);
        } else if (h["directResponse"]) {
          route.mutable_direct_response()->set_status(h["directResponse"]["status"].as<uint32_t>());
          if (h["directResponse"]["body"]["string"]) {
            route.mutable_direct_response()->set_body(str(h["directResponse"]["body"]["string"]));
          }
        } else {
          auto* action = route.mutable_route();
          const YamlView& destinations = h["route"];
          std::string first_host;
          std::string first_subset;
          if (destinations.size() == 1) {
            action->set_cluster(destination(destinations[size_t{0}]["destination"], vs.ns, port));
          } else {
            for (const auto& d : destinations) {
              uint32_t weight = d["weight"] ? d["weight"].as<uint32_t>() : 0;
              if (weight == 0) continue;
              auto* cw = action->mutable_weighted_clusters()->add_clusters();
              cw->set_name(destination(d["destination"], vs.ns, port));
              cw->set_weight(weight);
            }
          }
          if (destinations.size() > 0) {
            first_host = fqdn(str(destinations[size_t{0}]["destination"]["host"]), vs.ns);
            first_subset = str(destinations[size_t{0}]["destination"]["subset"]);
          }
          if (h["rewrite"]["uri"]) {
            std::string uri = str(h["rewrite"]["uri"]);
            if (rm->has_prefix()) {
              action->set_prefix_rewrite(uri);
            } else {
              // Exact and regex matches match the whole path, so all of it is replaced (the
              // proxy takes prefix_rewrite with prefix matches only). Backslashes would be
              // capture references in the substitution.
              std::string substitution;
              for (char c : uri)
                substitution += c == '\\' ? std::string("\\\\") : std::string(1, c);
              action->mutable_regex_rewrite()->set_pattern("^.*$");
              action->mutable_regex_rewrite()->set_substitution(substitution);
            }
          }
          if (h["rewrite"]["authority"])
            action->set_host_rewrite_literal(str(h["rewrite"]["authority"]));
          google::protobuf::Duration d;
          if (h["timeout"] && parseDuration(str(h["timeout"]), d)) *action->mutable_timeout() = d;
          if (h["retries"]) {
            auto* retry = action->mutable_retry_policy();
            uint32_t attempts =
                h["retries"]["attempts"] ? h["retries"]["attempts"].as<uint32_t>() : 2;
            retry->mutable_num_retries()->set_value(attempts);
            std::string retry_on = str(h["retries"]["retryOn"]);
            if (retry_on.empty())
              retry_on =
                  "connect-failure,refused-stream,unavailable,cancelled,retriable-status-codes";
            // Status codes in retryOn ("503") become retriable status codes.
            std::string conditions;
            bool codes = false;
            size_t start = 0;
            while (start <= retry_on.size()) {
              size_t comma = retry_on.find(',', start);
              std::string item = retry_on.substr(
                  start, comma == std::string::npos ? std::string::npos : comma - start);
              start = comma == std::string::npos ? retry_on.size() + 1 : comma + 1;
              if (item.empty()) continue;
              if (std::all_of(item.begin(), item.end(), ::isdigit)) {
                retry->add_retriable_status_codes(static_cast<uint32_t>(std::stoul(item)));
                codes = true;
                continue;
              }
              if (item == "retriable-status-codes") codes = true;
              conditions += (conditions.empty() ? "" : ",") + item;
            }
            if (codes && conditions.find("retriable-status-codes") == std::string::npos) {
              conditions += (conditions.empty() ? "" : ",") + std::string("retriable-status-codes");
            }
            if (codes && retry->retriable_status_codes_size() == 0)
              retry->add_retriable_status_codes(503);
            retry->set_retry_on(conditions);
            if (h["retries"]["perTryTimeout"] &&
                parseDuration(str(h["retries"]["perTryTimeout"]), d)) {
              *retry->mutable_per_try_timeout() = d;
            }
          } else {
            istioDefaultRetries(*action);
          }
          if (h["mirror"]) {
            auto* mirror = action->add_request_mirror_policies();
            mirror->set_cluster(destination(h["mirror"], vs.ns, port));
            if (h["mirrorPercentage"]) {
              mirror->mutable_percentage()->set_value(h["mirrorPercentage"]["value"].as<double>());
            }
          }
          addHashPolicy(rule(first_host) ? rule(first_host)->view() : YamlView(), first_subset,
                        *action);
        }
        if (h["fault"]) {
          auto* fault = route.mutable_fault();
          google::protobuf::Duration d;
          if (h["fault"]["delay"] && parseDuration(str(h["fault"]["delay"]["fixedDelay"]), d)) {
            *fault->mutable_delay()->mutable_fixed_delay() = d;
            fault->mutable_delay()->set_percentage(
                h["fault"]["delay"]["percentage"]
                    ? h["fault"]["delay"]["percentage"]["value"].as<double>()
                    : 100);
          }
          if (h["fault"]["abort"]) {
            const YamlView& abort = h["fault"]["abort"];
            if (abort["httpStatus"])
              fault->mutable_abort()->set_http_status(abort["httpStatus"].as<uint32_t>());
            if (abort["grpcStatus"])
              fault->mutable_abort()->set_grpc_status(abort["grpcStatus"].as<uint32_t>());
            fault->mutable_abort()->set_percentage(
                abort["percentage"] ? abort["percentage"]["value"].as<double>() : 100);
          }
        }
        addHeaderOps(h["headers"]["request"], route.mutable_request_headers_to_add(),
                     route.mutable_request_headers_to_remove());
        addHeaderOps(h["headers"]["response"], route.mutable_response_headers_to_add(),
                     route.mutable_response_headers_to_remove());
        *vh.add_routes() = route;
      }
    }
    (void)service;
  }
};

}  // namespace

void Translator::addRoutes(bool registry_only, Resources& out) const {
  RouteBuilder builder{this,
                       [this](const std::string& h, const std::string& n) { return fqdnOf(h, n); },
                       [this](const std::string& f) { return findService(f); },
                       [this](const std::string& f) { return ruleFor(f); }};
  std::map<uint32_t, RouteConfiguration> per_port;
  RouteConfiguration outbound;
  outbound.set_name("outbound");
  std::map<std::string, std::set<std::string>> used;  // route config -> domains taken
  auto add_vhost = [&](RouteConfiguration& config, VirtualHost vh,
                       const std::vector<std::string>& domains) {
    auto& taken = used[config.name()];
    for (const auto& d : domains) {
      if (taken.insert(d).second) vh.add_domains(d);
    }
    if (vh.domains_size() > 0) *config.add_virtual_hosts() = vh;
  };
  for (const auto& service : services_) {
    for (const auto& port : service.ports) {
      // Ports that may carry HTTP: declared, or found by protocol detection.
      if (port.opaque || (!port.http && serverFirstPort(port.number))) continue;
      std::string p = std::to_string(port.number);
      // The names a route configuration shared by the whole mesh can hold: the full name and
      // the addresses. The proxy expands a pod's shorter forms ("reviews", "reviews.shop",
      // "reviews.shop.svc") with the configuration's search suffixes, its own namespace
      // first, as the pod's resolver does.
      std::vector<std::string> names;
      names.push_back(service.fqdn);
      if (service.from_service_entry) {
        for (const auto& a : service.addresses) names.push_back(a);
      } else if (!service.cluster_ip.empty()) {
        names.push_back(service.cluster_ip);
      }
      VirtualHost vh;
      vh.set_name(service.fqdn + ":" + p);
      const Object* vs = virtualServiceFor(service.fqdn);
      if (vs) {
        try {
          builder.httpRoutes(*vs, service, port.number, vh);
        } catch (const YAML::Exception&) {
          vh.clear_routes();  // checked already; a value of the wrong kind falls back
        }
      }
      if (vh.routes_size() == 0) {
        Route route;
        route.set_name("default");
        route.mutable_match()->set_prefix("/");
        auto* action = route.mutable_route();
        action->set_cluster(service.from_service_entry && service.resolution == "NONE"
                                ? std::string(kPassthrough)
                                : clusterName(port.number, "", service.fqdn));
        istioDefaultRetries(*action);
        addHashPolicy(ruleFor(service.fqdn) ? ruleFor(service.fqdn)->view() : YamlView(), "",
                      *action);
        *vh.add_routes() = route;
      }
      auto& config = per_port[port.number];
      config.set_name(p);
      std::vector<std::string> with_port;
      std::vector<std::string> both;
      for (const auto& n : names) {
        with_port.push_back(n + ":" + p);
        both.push_back(n);
        both.push_back(n + ":" + p);
      }
      add_vhost(config, vh, both);
      add_vhost(outbound, vh, port.number == 80 ? both : with_port);
      // Headless pods by their own names.
      if (service.headless) {
        for (const auto& e : endpointsOf(service)) {
          if (e.hostname.empty()) continue;
          std::string pod_fqdn = e.hostname + "." + service.fqdn;
          VirtualHost pod_vh;
          pod_vh.set_name(pod_fqdn + ":" + p);
          auto* route = pod_vh.add_routes();
          route->mutable_match()->set_prefix("/");
          route->mutable_route()->set_cluster(clusterName(port.number, "", pod_fqdn));
          std::vector<std::string> pod_names = {pod_fqdn};
          std::vector<std::string> pod_both;
          std::vector<std::string> pod_with_port;
          for (const auto& n : pod_names) {
            pod_both.push_back(n);
            pod_both.push_back(n + ":" + p);
            pod_with_port.push_back(n + ":" + p);
          }
          add_vhost(config, pod_vh, pod_both);
          add_vhost(outbound, pod_vh, pod_with_port);
        }
      }
    }
  }
  // Anything else goes where it was going (ALLOW_ANY), or gets 502 (REGISTRY_ONLY).
  VirtualHost allow_any;
  allow_any.set_name(registry_only ? "block_all" : "allow_any");
  auto* route = allow_any.add_routes();
  route->mutable_match()->set_prefix("/");
  if (registry_only) {
    route->mutable_direct_response()->set_status(502);
    route->mutable_direct_response()->set_body(
        "remora: destination is not in the service registry (outboundTrafficPolicy "
        "REGISTRY_ONLY)\n");
  } else {
    route->mutable_route()->set_cluster(kPassthrough);
  }
  const std::vector<std::string> search = {"%NAMESPACE%.svc." + options_.cluster_domain,
                                           "svc." + options_.cluster_domain,
                                           options_.cluster_domain};
  for (auto& [port, config] : per_port) {
    add_vhost(config, allow_any, {"*"});
    for (const auto& suffix : search) config.add_host_search_suffixes(suffix);
    out.routes[config.name()] = pack(config);
  }
  add_vhost(outbound, allow_any, {"*"});
  for (const auto& suffix : search) outbound.add_host_search_suffixes(suffix);
  out.routes["outbound"] = pack(outbound);
}

}  // namespace remora::pilot
